// Choosing the publisher's video codec: reorder the browser's codec capabilities so the chosen codec
// comes first in the offer (the server takes the first codec it supports). For H.264 the variant every
// decoder plays comes first: packetization-mode=1, Constrained Baseline 3.1 (42e01f). Other codecs
// stay, in the browser's order, after it. Pure ordering plus one browser call; no signalling.
import { OnAirError } from './errors.js';

export type VideoCodec = 'h264' | 'vp8';

const MIME: Record<VideoCodec, string> = { h264: 'video/h264', vp8: 'video/vp8' };

/** The browser's codecs with `codec` first (best variant first); throws if the browser lacks it. */
export function orderCodecs(codecs: readonly RTCRtpCodec[], codec: VideoCodec): RTCRtpCodec[] {
  const mime = MIME[codec];
  const chosen = codecs.filter((c) => c.mimeType.toLowerCase() === mime);
  if (!chosen.length) throw new OnAirError(0, 'codec_unsupported', `this browser cannot send ${codec.toUpperCase()}`);
  const ranked = chosen
    .map((c, i) => ({ c, i, rank: codec === 'h264' ? h264Rank(c.sdpFmtpLine) : 0 }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((x) => x.c);
  return [...ranked, ...codecs.filter((c) => c.mimeType.toLowerCase() !== mime)];
}

/** Lower is better: packetization-mode=1 before 0, then 42e01f, then other baseline profiles. */
function h264Rank(fmtp: string | undefined): number {
  const params = new Map(
    (fmtp ?? '').split(';').map((p) => {
      const [k = '', v = ''] = p.trim().split('=');
      return [k.toLowerCase(), v.toLowerCase()] as const;
    }),
  );
  const mode = params.get('packetization-mode') === '1' ? 0 : 10;
  const profile = params.get('profile-level-id') ?? '';
  const profileRank = profile === '42e01f' ? 0 : profile.startsWith('42e0') ? 1 : profile.startsWith('42') ? 2 : 3;
  return mode + profileRank;
}

/** Puts `codec` first in the offer for this (video) transceiver. */
export function preferVideoCodec(transceiver: RTCRtpTransceiver, codec: VideoCodec): void {
  if (typeof transceiver.setCodecPreferences !== 'function') {
    if (codec === 'vp8') return; // every WebRTC browser offers VP8 first or second; nothing to do
    throw new OnAirError(0, 'codec_unsupported', 'this browser cannot choose the codec it sends');
  }
  // Sender capabilities describe what a sendonly transceiver may use; older engines validate
  // preferences against the receiver's list, so fall back to it.
  const attempts = [globalThis.RTCRtpSender?.getCapabilities?.('video'), globalThis.RTCRtpReceiver?.getCapabilities?.('video')];
  let lastError: unknown;
  for (const caps of attempts) {
    if (!caps?.codecs.length) continue;
    const ordered = orderCodecs(caps.codecs, codec);
    try {
      transceiver.setCodecPreferences(ordered);
      return;
    } catch (err) {
      lastError = err;
    }
  }
  throw new OnAirError(
    0,
    'codec_unsupported',
    `could not prefer ${codec.toUpperCase()}: ${(lastError as Error)?.message ?? 'no video capabilities'}`,
  );
}
