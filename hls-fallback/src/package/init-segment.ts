// Describes an fMP4 init segment (ftyp+moov) of a single-track CMAF output: media timescale, RFC 6381
// codecs string, picture size and frame rate for video, sample rate and channels for audio. The
// packager advertises these in playlists and MPDs, so nothing about the encode is passed in by hand.
// Parsing failures are returned as values (`{ error }`), never thrown.
import { childBoxes, findBox, fullBoxVersion, wholeBuffer, type BoxRef } from './iso-boxes.js';
import { spsFrameRate } from './h264-sps.js';

export interface InitInfo {
  kind: 'video' | 'audio';
  timescale: number;
  /** RFC 6381, e.g. avc1.4d401f, mp4a.40.2 */
  codec: string;
  width?: number;
  height?: number;
  frameRate?: number;
  sampleRate?: number;
  channels?: number;
}

export type InitResult = { ok: true; info: InitInfo } | { ok: false; error: string };

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

export function describeInit(init: Buffer): InitResult {
  const moov = findBox(init, wholeBuffer(init), ['moov']);
  if (!moov) return { ok: false, error: 'init segment has no moov' };
  const traks = [...childBoxes(init, moov.payload, moov.end)].filter((b) => b.type === 'trak');
  if (traks.length !== 1) return { ok: false, error: `expected one track per output, found ${traks.length}` };
  const trak = traks[0]!;
  const mdhd = findBox(init, trak, ['mdia', 'mdhd']);
  const hdlr = findBox(init, trak, ['mdia', 'hdlr']);
  const stsd = findBox(init, trak, ['mdia', 'minf', 'stbl', 'stsd']);
  if (!mdhd || !hdlr || !stsd) return { ok: false, error: 'track lacks mdhd, hdlr or stsd' };
  const timescale = fullBoxVersion(init, mdhd) === 1 ? init.readUInt32BE(mdhd.payload + 20) : init.readUInt32BE(mdhd.payload + 12);
  if (!timescale) return { ok: false, error: 'timescale is 0' };
  const handler = init.toString('latin1', hdlr.payload + 8, hdlr.payload + 12);
  // stsd is a full box with an entry count, then sample entries
  const entry = childBoxes(init, stsd.payload + 8, stsd.end).next().value as BoxRef | undefined;
  if (!entry) return { ok: false, error: 'stsd has no sample entry' };
  if (handler === 'vide') return describeVideo(init, entry, timescale);
  if (handler === 'soun') return describeAudio(init, entry, timescale);
  return { ok: false, error: `unsupported handler ${handler}` };
}

function describeVideo(buf: Buffer, entry: BoxRef, timescale: number): InitResult {
  const width = buf.readUInt16BE(entry.payload + 24);
  const height = buf.readUInt16BE(entry.payload + 26);
  if (entry.type !== 'avc1' && entry.type !== 'avc3') {
    return { ok: true, info: { kind: 'video', timescale, codec: entry.type, width, height } };
  }
  const avcC = [...childBoxes(buf, entry.payload + 78, entry.end)].find((b) => b.type === 'avcC');
  if (!avcC || avcC.end - avcC.payload < 7) return { ok: false, error: 'avc1 sample entry without avcC' };
  const p = avcC.payload;
  const codec = `${entry.type}.${hex2(buf[p + 1]!)}${hex2(buf[p + 2]!)}${hex2(buf[p + 3]!)}`;
  let frameRate: number | undefined;
  if ((buf[p + 5]! & 0x1f) > 0) {
    const len = buf.readUInt16BE(p + 6);
    if (p + 8 + len <= avcC.end) frameRate = spsFrameRate(buf.subarray(p + 8, p + 8 + len));
  }
  return { ok: true, info: { kind: 'video', timescale, codec, width, height, ...(frameRate ? { frameRate } : {}) } };
}

function describeAudio(buf: Buffer, entry: BoxRef, timescale: number): InitResult {
  const channels = buf.readUInt16BE(entry.payload + 16);
  const sampleRate = buf.readUInt32BE(entry.payload + 24) >>> 16;
  if (entry.type !== 'mp4a') return { ok: true, info: { kind: 'audio', timescale, codec: entry.type, channels, sampleRate } };
  const esds = [...childBoxes(buf, entry.payload + 28, entry.end)].find((b) => b.type === 'esds');
  if (!esds) return { ok: false, error: 'mp4a sample entry without esds' };
  const codec = esdsCodec(buf.subarray(esds.payload + 4, esds.end));
  if (!codec) return { ok: false, error: 'unreadable esds' };
  return { ok: true, info: { kind: 'audio', timescale, codec, channels, sampleRate: sampleRate || timescale } };
}

/** mp4a.OTI[.AOT] from an ES_Descriptor (ISO 14496-1 descriptors, variable-length sizes). */
function esdsCodec(d: Buffer): string | undefined {
  let at = 0;
  const header = (tag: number): number | undefined => {
    if (d[at] !== tag) return undefined;
    at++;
    let len = 0;
    for (let i = 0; i < 4; i++) {
      const b = d[at++];
      if (b === undefined) return undefined;
      len = (len << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    return len;
  };
  if (header(0x03) === undefined) return undefined;
  const flags = d[at + 2] ?? 0;
  at += 3;
  if (flags & 0x80) at += 2;
  if (flags & 0x40) at += 1 + (d[at] ?? 0);
  if (flags & 0x20) at += 2;
  if (header(0x04) === undefined) return undefined;
  const oti = d[at];
  if (oti === undefined) return undefined;
  at += 13;
  if (oti !== 0x40) return `mp4a.${hex2(oti).toUpperCase()}`;
  if (header(0x05) === undefined || d[at] === undefined) return 'mp4a.40.2';
  let aot = d[at]! >> 3;
  if (aot === 31) aot = 32 + (((d[at]! & 0x07) << 3) | (d[at + 1]! >> 5));
  return `mp4a.40.${aot}`;
}
