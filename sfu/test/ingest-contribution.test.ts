// What the RTMP and SRT ingest decide from a contribution's first bytes, before any process is
// spawned: the stream key in an SRT streamid (both forms, as ffmpeg URL-encodes them), the video
// codec of an FLV video message (H.264 yes; HEVC/AV1 over Enhanced RTMP no) and an MPEG-TS
// program's streams, read from real ffmpeg output made at test time.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { videoRefusal } from '../src/ingest/rtmp-listener.js';
import { streamKeyFromStreamId } from '../src/ingest/srt-listener.js';
import { readTsProgram } from '../src/ingest/ts-program.js';

const ts = (...args: string[]) =>
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args, '-t', '0.5', '-f', 'mpegts', 'pipe:1'], { maxBuffer: 64 << 20 });

describe('SRT streamid', () => {
  it('takes the key plain or as #!::r=<key>,m=publish, URL-encoded or not', () => {
    expect(streamKeyFromStreamId('sk_abc')).toEqual({ key: 'sk_abc' });
    expect(streamKeyFromStreamId('#!::r=sk_abc,m=publish')).toEqual({ key: 'sk_abc' });
    expect(streamKeyFromStreamId(encodeURIComponent('#!::m=publish,r=sk_abc'))).toEqual({ key: 'sk_abc' });
  });
  it('refuses players, a missing key and malformed encoding', () => {
    expect(streamKeyFromStreamId('#!::r=sk_abc,m=request')).toHaveProperty('refused');
    expect(streamKeyFromStreamId('#!::r=sk_abc')).toHaveProperty('refused'); // m defaults to request
    expect(streamKeyFromStreamId('#!::m=publish')).toHaveProperty('refused');
    expect(streamKeyFromStreamId('')).toHaveProperty('refused');
    expect(streamKeyFromStreamId('%E0%A4%A')).toHaveProperty('refused');
  });
});

describe('FLV video codec', () => {
  it('accepts H.264 and refuses HEVC, AV1 (Enhanced RTMP) and other codecs by name', () => {
    expect(videoRefusal(Buffer.from([0x17, 0x00]))).toBeUndefined();
    expect(videoRefusal(Buffer.from([0x27, 0x01]))).toBeUndefined();
    expect(videoRefusal(Buffer.concat([Buffer.from([0x90]), Buffer.from('hvc1')]))).toBe('HEVC (Enhanced RTMP)');
    expect(videoRefusal(Buffer.concat([Buffer.from([0x90]), Buffer.from('av01')]))).toBe('AV1 (Enhanced RTMP)');
    expect(videoRefusal(Buffer.from([0x1c]))).toBe('HEVC');
    expect(videoRefusal(Buffer.from([0x12]))).toBe('FLV codec id 2');
  });
});

describe('MPEG-TS program', () => {
  it('reads H.264 + AAC, HEVC, and video without audio from ffmpeg output', () => {
    const src = ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=10'];
    const tone = ['-f', 'lavfi', '-i', 'sine'];
    expect(readTsProgram(ts(...src, ...tone, '-c:v', 'libx264', '-c:a', 'aac'))).toEqual({ videoTypes: [0x1b], audioTypes: [0x0f] });
    expect(readTsProgram(ts(...src, '-c:v', 'libx265', '-x265-params', 'log-level=none'))).toEqual({ videoTypes: [0x24], audioTypes: [] });
    expect(readTsProgram(ts(...src, ...tone, '-c:v', 'libx264', '-c:a', 'libopus'))?.audioTypes).toEqual([0x06]);
  });
  it('says nothing for bytes that are not MPEG-TS or are cut before the PMT', () => {
    expect(readTsProgram(Buffer.from('not a transport stream at all'.repeat(20)))).toBeUndefined();
    expect(readTsProgram(ts('-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=10', '-c:v', 'libx264').subarray(0, 188))).toBeUndefined();
  });
});
