// The HTTP face of the media plane's failures: each MediaError code's status, and Retry-After (whole
// seconds) when the error says retrying helps. The media packages never see this table.
import type { MediaError, MediaErrorCode } from '@onair/sfu';

const STATUS: Record<MediaErrorCode, number> = {
  bad_sdp: 400,
  unsupported_sdp: 422,
  stream_offline: 404,
  stream_starting: 409,
  stream_already_live: 409,
  stream_already_here: 409,
  node_full: 503,
  too_many_pending: 429,
  node_shutting_down: 503,
  relay_unavailable: 503,
  session_not_found: 404,
  etag_mismatch: 412,
  ice_ufrag_mismatch: 422,
};

export function mediaErrorReply(err: MediaError): { status: number; headers: Record<string, string> } {
  const headers: Record<string, string> =
    err.retryAfterMs === undefined ? {} : { 'Retry-After': String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))) };
  return { status: STATUS[err.code], headers };
}
