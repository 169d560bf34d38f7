// The codecs every OnAir router offers. Publishers' offers are matched against these; viewers get
// the publisher's codec. H.264 is listed in the three profiles browsers and OBS send (constrained
// baseline, main, high) so any of them is forwarded as is, never transcoded.
import type { types } from 'mediasoup';

const h264 = (profileLevelId: string): types.RtpCodecCapability => ({
  kind: 'video',
  mimeType: 'video/H264',
  clockRate: 90000,
  parameters: { 'packetization-mode': 1, 'profile-level-id': profileLevelId, 'level-asymmetry-allowed': 1 },
});

export const routerMediaCodecs: types.RtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  h264('42e01f'),
  h264('4d001f'),
  h264('640032'),
  { kind: 'video', mimeType: 'video/VP9', clockRate: 90000, parameters: { 'profile-id': 0 } },
];
