export {
  MediaPlane,
  VIEWER_CONNECT_TIMEOUT_MS,
  type MediaPlaneEvents,
  type MediaPlaneOptions,
  type SessionAnswer,
  type SessionRole,
  type UpstreamNegotiation,
} from './media-plane.js';
export type { StreamRole } from './live-stream.js';
export { DownstreamLink, UpstreamLink, type LinkSettings, type PipeEndpoint, type RelayedProducer } from './relay-link.js';
export { routerMediaCodecs } from './media-codecs.js';
export type { PatchResult } from './rtc-session.js';
export { registerMediaMetrics } from './media-metrics.js';
export { isMediaError, MediaError, type MediaErrorCode } from './media-error.js';
export { RtpIngestSession, type RtpTarget } from './rtp-ingest-session.js';
export {
  RtmpListener,
  RTMP_APP,
  type IngestAuthorization,
  type IngestAuthorizer,
  type IngestProtocol,
  type RtmpListenerOptions,
} from './ingest/rtmp-listener.js';
export { contributionEncoders, type LadderOutput } from './ingest/contribution-encoder.js';
export { EncodedLadder, type EncodedLadderListener, type EncodedTrack } from './ingest/encoded-ladder.js';
export { SrtListener, type SrtListenerOptions } from './ingest/srt-listener.js';
