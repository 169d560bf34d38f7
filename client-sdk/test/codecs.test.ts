import { describe, expect, it } from 'vitest';
import { orderCodecs } from '../src/codecs.js';
import { OnAirError } from '../src/errors.js';

// What Chromium reports for video (trimmed): VP8, VP9, several H.264 variants, RTX, RED, ULPFEC.
const chromium = [
  { mimeType: 'video/VP8', clockRate: 90000 },
  { mimeType: 'video/rtx', clockRate: 90000, sdpFmtpLine: 'apt=96' },
  { mimeType: 'video/VP9', clockRate: 90000, sdpFmtpLine: 'profile-id=0' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f' },
  { mimeType: 'video/red', clockRate: 90000 },
  { mimeType: 'video/ulpfec', clockRate: 90000 },
];

describe('video codec preference', () => {
  it('puts H.264 packetization-mode=1 Constrained Baseline 42e01f first, other H.264 next, the rest after in order', () => {
    const ordered = orderCodecs(chromium, 'h264');
    expect(ordered[0]?.sdpFmtpLine).toContain('packetization-mode=1;profile-level-id=42e01f');
    expect(ordered.slice(0, 5).every((c) => c.mimeType === 'video/H264')).toBe(true);
    expect(ordered[1]?.sdpFmtpLine).toContain('packetization-mode=1;profile-level-id=42001f');
    expect(ordered[2]?.sdpFmtpLine).toContain('packetization-mode=1;profile-level-id=4d001f');
    expect(ordered.slice(5).map((c) => c.mimeType)).toEqual(['video/VP8', 'video/rtx', 'video/VP9', 'video/red', 'video/ulpfec']);
    expect(ordered).toHaveLength(chromium.length);
  });

  it('puts VP8 first and keeps every other codec', () => {
    const ordered = orderCodecs(chromium, 'vp8');
    expect(ordered[0]?.mimeType).toBe('video/VP8');
    expect(ordered).toHaveLength(chromium.length);
  });

  it('refuses a codec the browser cannot send', () => {
    const vp8Only = chromium.filter((c) => c.mimeType !== 'video/H264');
    expect(() => orderCodecs(vp8Only, 'h264')).toThrow(OnAirError);
    try {
      orderCodecs(vp8Only, 'h264');
    } catch (err) {
      expect((err as OnAirError).code).toBe('codec_unsupported');
    }
  });
});
