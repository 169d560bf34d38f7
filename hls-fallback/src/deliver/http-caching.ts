// The HTTP caching rules of the playback origin, as pure functions over request headers: validators
// (ETag / Last-Modified and the 304 decision), single byte ranges (206/416), gzip negotiation, and the
// Cache-Control values CDNs rely on. Nothing here knows about playlists or waits.
import { gzipSync } from 'node:zlib';

export interface RequestHeaders {
  'accept-encoding'?: string | undefined;
  'if-none-match'?: string | undefined;
  'if-modified-since'?: string | undefined;
  range?: string | undefined;
  'if-range'?: string | undefined;
}

export const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';
export const CACHE_NONE = 'no-store';
export const cacheFor = (seconds: number) => `public, max-age=${Math.max(1, Math.round(seconds))}`;

/** Headers a browser player must be able to read cross-origin. */
export const EXPOSED_HEADERS = 'Content-Length, Content-Range, Content-Encoding, ETag, Last-Modified, Age, Date, Retry-After';

export const httpDate = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toUTCString();

function etagList(header: string): string[] {
  return header
    .split(',')
    .map((s) => s.trim().replace(/^W\//, ''))
    .filter(Boolean);
}

/**
 * True when the client's copy is current (answer 304). `exactMs` is when the representation last
 * changed; Last-Modified is sent rounded down to the second, so a change later in that same second
 * must still count as a change.
 */
export function notModified(h: RequestHeaders, etag: string, exactMs: number): boolean {
  const inm = h['if-none-match'];
  if (inm !== undefined) {
    const tags = etagList(inm);
    return tags.includes('*') || tags.includes(etag.replace(/^W\//, ''));
  }
  const ims = h['if-modified-since'];
  if (ims === undefined) return false;
  const t = Date.parse(ims);
  return Number.isFinite(t) && exactMs <= t;
}

export type RangeDecision = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/** One byte range (RFC 9110 14.1.2); several ranges or an unparseable header get the full body. */
export function byteRange(h: RequestHeaders, size: number, etag: string): RangeDecision {
  const header = h.range;
  if (!header) return { kind: 'full' };
  const ifRange = h['if-range'];
  if (ifRange !== undefined && ifRange.trim() !== etag) return { kind: 'full' };
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return { kind: 'unsatisfiable' };
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return { kind: 'full' };
  }
  if (start >= size || size === 0) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

export function acceptsGzip(h: RequestHeaders): boolean {
  const ae = h['accept-encoding'];
  if (!ae) return false;
  for (const item of ae.split(',')) {
    const [coding, ...params] = item.trim().split(';');
    if (coding?.trim().toLowerCase() !== 'gzip' && coding?.trim() !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  }
  return false;
}

/** A rendered text document (playlist, MPD) with its validators and a lazily built gzip body. */
export class TextDocument {
  readonly body: Buffer;
  private gz: Buffer | undefined;
  constructor(
    text: string,
    readonly etag: string,
    readonly modifiedMs: number,
  ) {
    this.body = Buffer.from(text, 'utf8');
  }
  get gzipped(): Buffer {
    this.gz ??= gzipSync(this.body, { level: 6 });
    return this.gz;
  }
}
