// The media plane's failures as values: a code, a message for people and, when retrying helps, after
// how long. Media packages (sfu/, origin-cascade/) throw these and know nothing of HTTP; the HTTP edge
// maps each code to a status and a Retry-After header (signaling/src/http/media-errors.ts).
export type MediaErrorCode =
  /** The SDP offer or fragment is malformed. */
  | 'bad_sdp'
  /** The offer is well-formed but cannot be served (codecs, directions). */
  | 'unsupported_sdp'
  | 'stream_offline'
  /** A publisher is connecting: its media has not arrived yet. */
  | 'stream_starting'
  | 'stream_already_live'
  /** A relay of the stream is already here (cascade). */
  | 'stream_already_here'
  | 'node_full'
  /** Too many WHEP sessions from one client address are still connecting. */
  | 'too_many_pending'
  | 'node_shutting_down'
  | 'relay_unavailable'
  | 'session_not_found'
  | 'etag_mismatch'
  | 'ice_ufrag_mismatch';

export class MediaError extends Error {
  constructor(
    readonly code: MediaErrorCode,
    message: string,
    /** When retrying may succeed (undefined: retrying the same request will not help). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'MediaError';
  }
}

export function isMediaError(err: unknown): err is MediaError {
  return err instanceof MediaError;
}
