export { MediaPlane, type MediaPlaneOptions, type SessionAnswer, type SessionRole } from './media-plane.js';
export type { PatchResult } from './rtc-session.js';
export { registerMediaMetrics } from './media-metrics.js';
