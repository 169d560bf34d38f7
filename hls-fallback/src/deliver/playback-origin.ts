// The HLS/DASH origin's request logic: it finds a stream's packager, applies the LL-HLS blocking rules
// (_HLS_msn/_HLS_part/_HLS_skip with the draft's 400/503 answers), parks requests for objects about to
// exist (preload hints, the DASH segment in progress) and turns packager state into HTTP replies with
// the right caching. It answers with values (PlaybackReply) or throws AppError; it never touches a
// socket, so the Fastify route stays a thin adapter. Every wait is bounded and ends on close().
import { Readable } from 'node:stream';
import { AppError } from '@onair/platform';
import type { CmafPackager, PackagedTrack } from '../package/cmaf-packager.js';
import type { MediaSegment } from '../package/track-timeline.js';
import { renderMpd } from './dash-manifest.js';
import { playlistTimings, renderMediaPlaylist, renderMultivariant } from './hls-playlists.js';
import {
  acceptsGzip,
  byteRange,
  CACHE_IMMUTABLE,
  CACHE_NONE,
  cacheFor,
  EXPOSED_HEADERS,
  httpDate,
  notModified,
  TextDocument,
  type RequestHeaders,
} from './http-caching.js';

export interface PackagerLookup {
  get(streamId: string): CmafPackager | undefined;
  /**
   * Why a stream has no packager (yet): its ladder is still starting (source probing, first
   * segment), or it failed (a picture ffmpeg cannot decode, ffmpeg crash-looping). Undefined when
   * the stream is simply not live here.
   */
  pending?(streamId: string): { state: 'starting' } | { state: 'failed'; reason: string } | undefined;
}

export interface PlaybackRequest {
  headers: RequestHeaders;
  query: Record<string, unknown>;
  /** aborted when the client goes away: parked requests stop waiting */
  signal?: AbortSignal;
}

export interface PlaybackReply {
  status: number;
  headers: Record<string, string>;
  body?: Buffer | Readable;
}

export interface PlaybackOriginOptions {
  /** how long a request for a live stream with no media yet waits before 503 */
  noMediaWaitMs?: number;
}

const HLS_TYPE = 'application/vnd.apple.mpegurl';
const MPD_TYPE = 'application/dash+xml';
const OBJECT = /^(?:init-(\d{1,9})\.mp4|(\d{1,15})\.m4s|(\d{1,15})\.(\d{1,6})\.m4s)$/;

const noStore = { 'Cache-Control': CACHE_NONE };
const err = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  new AppError(status, code, message, { ...noStore, ...headers });
const unavailable = (message: string) => err(503, 'not_available_yet', message, { 'Retry-After': '1' });
const gone = () => err(410, 'stream_gone', 'the stream has ended and its media was released');

/** LL-HLS delivery directives (rfc8216bis 6.2.5). */
interface Directives {
  msn?: number;
  part?: number;
  skip: boolean;
}

function parseDirectives(query: Record<string, unknown>): Directives {
  const int = (name: string): number | undefined => {
    const v = query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) throw err(400, 'bad_query', `${name} must be a non-negative integer`);
    return Number(v);
  };
  const msn = int('_HLS_msn');
  const part = int('_HLS_part');
  const skipRaw = query._HLS_skip;
  if (skipRaw !== undefined && skipRaw !== 'YES' && skipRaw !== 'v2') throw err(400, 'bad_query', '_HLS_skip must be YES or v2');
  if (part !== undefined && msn === undefined) throw err(400, 'bad_query', '_HLS_part needs _HLS_msn');
  return { ...(msn !== undefined ? { msn } : {}), ...(part !== undefined ? { part } : {}), skip: skipRaw !== undefined };
}

/** Rendered documents of one packager state, so a thousand parked players cost one render. */
class DocumentCache {
  private version = -1;
  private docs = new Map<string, TextDocument>();
  get(p: CmafPackager, key: string, render: () => string): TextDocument {
    if (p.version !== this.version) {
      this.version = p.version;
      this.docs = new Map();
    }
    let d = this.docs.get(key);
    if (!d) {
      d = new TextDocument(render(), `"${p.session}.${p.version}.${key}"`, p.lastChangeMs);
      this.docs.set(key, d);
    }
    return d;
  }
}

export class PlaybackOrigin {
  private readonly caches = new WeakMap<CmafPackager, DocumentCache>();
  private readonly noMediaWaitMs: number;

  constructor(
    private readonly packagers: PackagerLookup,
    opts: PlaybackOriginOptions = {},
  ) {
    this.noMediaWaitMs = opts.noMediaWaitMs ?? 2000;
  }

  /** Whether this node packages the stream (or its ladder is starting here). */
  holds(streamId: string): boolean {
    return this.packagers.get(streamId) !== undefined || this.packagers.pending?.(streamId) !== undefined;
  }

  /** GET /hls/{id}/index.m3u8 (LL) and /hls/{id}/plain.m3u8 (no LL tags) */
  async multivariant(streamId: string, req: PlaybackRequest, lowLatency: boolean): Promise<PlaybackReply> {
    const p = this.packager(streamId);
    await this.waitForMedia(p, () => p.tracks.every((t) => t.latestInit), req);
    const name = lowLatency ? 'index.m3u8' : 'plain.m3u8';
    const doc = this.doc(p, `mv:${name}`, () => renderMultivariant(p, name));
    return this.textReply(doc, req, HLS_TYPE, cacheFor(p.segmentTargetSec));
  }

  /** GET /hls/{id}/{track}/index.m3u8 with optional _HLS_msn, _HLS_part, _HLS_skip; /plain.m3u8 */
  async mediaPlaylist(streamId: string, trackName: string, req: PlaybackRequest, lowLatency: boolean): Promise<PlaybackReply> {
    const p = this.packager(streamId);
    const track = this.track(p, trackName);
    const d = lowLatency ? parseDirectives(req.query) : { skip: false };
    const tl = track.timeline;
    await this.waitForMedia(p, () => (lowLatency ? tl.segments.length > 0 : tl.segments.some((s) => s.complete)), req);
    const timing = playlistTimings(p, track);
    if (d.msn !== undefined && p.state === 'live') {
      const lastMsn = tl.last!.msn;
      if (d.msn > lastMsn + 2) throw err(400, 'msn_out_of_range', `_HLS_msn ${d.msn} is beyond the last segment ${lastMsn} plus two`);
      const want = { msn: d.msn, part: d.part };
      const outcome = await p.waitUntil(() => hasPart(track, want.msn, want.part), 3 * timing.targetDuration * 1000, req.signal);
      if (outcome === 'timeout')
        throw unavailable(`segment ${d.msn}${d.part !== undefined ? ` part ${d.part}` : ''} did not appear within 3 target durations`);
      if (isClosed(p)) throw gone();
    }
    if (isClosed(p)) throw gone();
    const skip = d.skip && lowLatency;
    const doc = this.doc(p, `m:${track.index}:${lowLatency ? 'll' : 'plain'}:${skip ? 'skip' : 'full'}`, () =>
      renderMediaPlaylist(p, track, { lowLatency, skip }),
    );
    // A blocking response is a snapshot that already holds what was asked for: caches may keep it,
    // keyed by the full query, as long as the part stays in the playlist.
    const maxAge = d.msn !== undefined ? 3 * timing.targetDuration : p.partTargetSec;
    return this.textReply(doc, req, HLS_TYPE, cacheFor(maxAge));
  }

  /** GET /dash/{id}/manifest.mpd */
  async mpd(streamId: string, req: PlaybackRequest, timeUrl: string): Promise<PlaybackReply> {
    const p = this.packager(streamId);
    await this.waitForMedia(p, () => p.timelineOriginMs !== undefined && p.tracks.every((t) => t.latestInit), req);
    const doc = this.doc(p, `mpd:${timeUrl}`, () => renderMpd(p, { timeUrl }));
    return this.textReply(doc, req, MPD_TYPE, cacheFor(p.segmentTargetSec));
  }

  /** GET /hls|dash/{id}/{track}/{session}/{init-G.mp4 | MSN.m4s | MSN.PART.m4s} */
  async object(streamId: string, trackName: string, session: string, file: string, req: PlaybackRequest): Promise<PlaybackReply> {
    const p = this.packager(streamId);
    const track = this.track(p, trackName);
    const m = OBJECT.exec(file);
    if (!m) throw err(404, 'object_not_found', `no object ${file}`);
    if (session !== p.session) throw err(404, 'object_not_found', 'no such session of this stream (it restarted or ended)');
    const type = track.spec.kind === 'audio' ? 'audio/mp4' : 'video/mp4';
    const etag = `"${p.session}.${track.spec.name}.${file}"`;
    const tl = track.timeline;
    const waitMs = 3 * playlistTimings(p, track).targetDuration * 1000;

    if (m[1] !== undefined) {
      const gen = Number(m[1]);
      if (!track.inits.has(gen) && gen === p.generation && p.state === 'live') {
        const o = await p.waitUntil(() => track.inits.has(gen), waitMs, req.signal);
        if (o === 'timeout') throw unavailable('the init segment is not written yet');
      }
      const init = track.inits.get(gen);
      if (!init) throw isClosed(p) ? gone() : err(404, 'object_not_found', `no init segment ${gen}`);
      return this.bytesReply(init.bytes, req, type, etag, init.createdAtMs);
    }

    const msn = Number(m[2] ?? m[3]);
    const partIndex = m[4] === undefined ? undefined : Number(m[4]);
    const first = tl.first;
    if (first && msn < first.msn) throw err(404, 'object_expired', `segment ${msn} has left the window`);

    if (partIndex !== undefined) {
      const found = () => tl.find(msn)?.parts[partIndex];
      if (!found()) {
        // A part about to exist (the PRELOAD-HINT, or the next segment's first part) is held until
        // it is complete; anything further ahead is unknown.
        const next = tl.nextPart();
        const soon = p.state === 'live' && (msn === next.msn ? partIndex <= next.index + 2 : msn === next.msn + 1 && partIndex <= 1);
        if (!soon) throw isClosed(p) ? gone() : err(404, 'object_not_found', `no part ${msn}.${partIndex}`);
        const o = await p.waitUntil(() => hasPart(track, msn, partIndex), waitMs, req.signal);
        if (o === 'timeout') throw unavailable(`part ${msn}.${partIndex} did not appear in time`);
      }
      const part = found();
      if (!part) {
        if (isClosed(p)) throw gone();
        // The segment ended before this index (a hint made moot by a keyframe): that stays true, so
        // caches may keep the 404 and the players parked behind one CDN request do not each retry.
        const final = tl.find(msn)?.complete === true;
        throw err(404, 'object_not_found', `segment ${msn} has no part ${partIndex}`, final ? { 'Cache-Control': cacheFor(60) } : {});
      }
      return this.bytesReply(part.bytes, req, type, etag, part.arrivedAtMs);
    }

    let seg = tl.find(msn);
    if (!seg) {
      // the DASH player may ask for the next segment a little before its first part exists
      if (p.state !== 'live' || msn > (tl.last?.msn ?? -1) + 1)
        throw isClosed(p) ? gone() : err(404, 'object_not_found', `no segment ${msn}`);
      const o = await p.waitUntil(() => tl.find(msn) !== undefined, waitMs, req.signal);
      if (o === 'timeout') throw unavailable(`segment ${msn} has not started`);
      seg = tl.find(msn);
      if (!seg) throw isClosed(p) ? gone() : err(404, 'object_not_found', `no segment ${msn}`);
    }
    if (!seg.complete && req.headers.range) {
      // a byte range of a growing object cannot be answered before the object is whole
      const s = seg;
      const o = await p.waitUntil(() => s.complete, waitMs, req.signal);
      if (o === 'timeout') throw unavailable(`segment ${msn} is not complete yet`);
    }
    if (seg.complete) return this.bytesReply(tl.segmentBytes(seg), req, type, etag, seg.parts[seg.parts.length - 1]!.arrivedAtMs);
    if (req.headers['if-none-match'] !== undefined && notModified(req.headers, etag, 0))
      return this.notModifiedReply(etag, CACHE_IMMUTABLE);
    return {
      status: 200,
      headers: { 'Content-Type': type, 'Cache-Control': CACHE_IMMUTABLE, ETag: etag, 'Access-Control-Expose-Headers': EXPOSED_HEADERS },
      body: growingSegment(p, seg),
    };
  }

  private packager(streamId: string): CmafPackager {
    const p = this.packagers.get(streamId);
    if (!p) {
      const pending = this.packagers.pending?.(streamId);
      if (pending?.state === 'starting') throw unavailable(`HLS/DASH of stream ${streamId} is starting; retry shortly`);
      if (pending?.state === 'failed') {
        throw err(503, 'playback_unavailable', `HLS/DASH of stream ${streamId} is unavailable: ${pending.reason}`, { 'Retry-After': '30' });
      }
      throw err(404, 'stream_not_found', `no live playback for stream ${streamId}`);
    }
    if (isClosed(p)) throw gone();
    return p;
  }

  private track(p: CmafPackager, name: string): PackagedTrack {
    const t = p.trackByName(name);
    if (!t) throw err(404, 'track_not_found', `stream ${p.streamId} has no rendition ${name}`);
    return t;
  }

  private async waitForMedia(p: CmafPackager, ready: () => boolean, req: PlaybackRequest): Promise<void> {
    if (ready()) return;
    if (p.state !== 'live') throw isClosed(p) ? gone() : err(404, 'no_media', 'the stream ended before any media was packaged');
    const o = await p.waitUntil(ready, this.noMediaWaitMs, req.signal);
    if (isClosed(p)) throw gone();
    if (o !== 'ready' && !ready()) throw unavailable('the stream has no media yet');
  }

  private doc(p: CmafPackager, key: string, render: () => string): TextDocument {
    let c = this.caches.get(p);
    if (!c) this.caches.set(p, (c = new DocumentCache()));
    return c.get(p, key, render);
  }

  private textReply(doc: TextDocument, req: PlaybackRequest, type: string, cacheControl: string): PlaybackReply {
    const gz = acceptsGzip(req.headers);
    const etag = gz ? doc.etag.replace(/"$/, '.gz"') : doc.etag;
    const headers: Record<string, string> = {
      'Cache-Control': cacheControl,
      ETag: etag,
      'Last-Modified': httpDate(doc.modifiedMs),
      Vary: 'Accept-Encoding',
      'Access-Control-Expose-Headers': EXPOSED_HEADERS,
    };
    if (notModified(req.headers, etag, doc.modifiedMs)) return { status: 304, headers };
    headers['Content-Type'] = type;
    if (gz) headers['Content-Encoding'] = 'gzip';
    return { status: 200, headers, body: gz ? doc.gzipped : doc.body };
  }

  private notModifiedReply(etag: string, cacheControl: string): PlaybackReply {
    return { status: 304, headers: { ETag: etag, 'Cache-Control': cacheControl, 'Access-Control-Expose-Headers': EXPOSED_HEADERS } };
  }

  private bytesReply(bytes: Buffer, req: PlaybackRequest, type: string, etag: string, modifiedMs: number): PlaybackReply {
    const headers: Record<string, string> = {
      'Cache-Control': CACHE_IMMUTABLE,
      ETag: etag,
      'Last-Modified': httpDate(modifiedMs),
      'Accept-Ranges': 'bytes',
      'Access-Control-Expose-Headers': EXPOSED_HEADERS,
    };
    // immutable: any validator the client holds for this URL is current
    if (notModified(req.headers, etag, Math.floor(modifiedMs / 1000) * 1000)) return { status: 304, headers };
    headers['Content-Type'] = type;
    const r = byteRange(req.headers, bytes.length, etag);
    if (r.kind === 'unsatisfiable') {
      return {
        status: 416,
        headers: { ...headers, 'Content-Range': `bytes */${bytes.length}`, 'Content-Type': 'text/plain' },
        body: Buffer.alloc(0),
      };
    }
    if (r.kind === 'partial') {
      headers['Content-Range'] = `bytes ${r.start}-${r.end}/${bytes.length}`;
      return { status: 206, headers, body: bytes.subarray(r.start, r.end + 1) };
    }
    return { status: 200, headers, body: bytes };
  }
}

// a function, not an inline comparison: the state changes while a request awaits
const isClosed = (p: CmafPackager) => p.state === 'closed';

/** The playlist holds part `part` of segment `msn`, or something later (rfc8216bis 6.2.5.2). */
function hasPart(track: PackagedTrack, msn: number, part: number | undefined): boolean {
  const last = track.timeline.last;
  if (!last) return false;
  if (last.msn > msn) return true;
  if (last.msn < msn) return false;
  return part === undefined ? last.complete : last.complete || last.parts.length > part;
}

/**
 * The bytes of a segment still being written, sent as its parts arrive (chunked transfer, for
 * low-latency DASH). It ends when the segment completes; if the packager closes first it fails, so
 * neither the player nor a CDN ever takes a truncated segment for a whole one.
 */
function growingSegment(p: CmafPackager, seg: MediaSegment): Readable {
  let sent = 0;
  let done = false;
  let unsubscribe: () => void = () => {};
  const stream = new Readable({
    read() {},
    destroy(error, cb) {
      unsubscribe();
      cb(error);
    },
  });
  const pump = () => {
    if (done) return;
    if (isClosed(p)) {
      done = true;
      unsubscribe();
      stream.destroy(new Error('packager closed while the segment was being sent'));
      return;
    }
    while (sent < seg.parts.length) stream.push(seg.parts[sent++]!.bytes);
    if (seg.complete) {
      done = true;
      unsubscribe();
      stream.push(null);
    }
  };
  unsubscribe = p.subscribe(pump);
  pump();
  return stream;
}
