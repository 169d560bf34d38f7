// Decides whether an offered codec is one a mediasoup router can take, with mediasoup's own matching
// rules (mime, clock rate, channels; H.264 packetization-mode and profile). Pure functions, no I/O.
import h264 from 'h264-profile-level-id';
import type { types } from 'mediasoup';
import type { OfferedCodec } from './offer.js';

export function codecMatches(offered: OfferedCodec, cap: types.RtpCodecCapability): boolean {
  if (offered.mimeType.toLowerCase() !== cap.mimeType.toLowerCase()) return false;
  if (offered.clockRate !== cap.clockRate) return false;
  if (cap.kind === 'audio' && (offered.channels ?? 1) !== (cap.channels ?? 1)) return false;
  if (cap.mimeType.toLowerCase() === 'video/h264') {
    const pm = (p: Record<string, unknown> | undefined) => Number(p?.['packetization-mode'] ?? 0);
    if (pm(offered.parameters) !== pm(cap.parameters)) return false;
    try {
      if (!h264.isSameProfile(offered.parameters, cap.parameters ?? {})) return false;
    } catch {
      return false; // an unparseable profile-level-id
    }
  }
  return true;
}

export const isRtx = (c: OfferedCodec) => c.mimeType.toLowerCase().endsWith('/rtx');

/** The RTX codec the offer pairs with payload type `pt`, if any. */
export function rtxFor(codecs: OfferedCodec[], pt: number): OfferedCodec | undefined {
  return codecs.find((c) => isRtx(c) && Number(c.parameters.apt) === pt);
}
