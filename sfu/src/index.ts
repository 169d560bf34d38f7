export { MediaPlane, type MediaPlaneOptions, type SessionAnswer, type SessionRole, type UpstreamNegotiation } from './media-plane.js';
export type { StreamRole } from './live-stream.js';
export type { LinkSettings, PipeEndpoint, RelayedProducer } from './relay-link.js';
export type { PatchResult } from './rtc-session.js';
export { registerMediaMetrics } from './media-metrics.js';
