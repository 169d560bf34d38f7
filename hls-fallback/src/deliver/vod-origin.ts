// Answers playback requests for recorded broadcasts (past broadcasts, and the DVR window of one
// still being recorded) from the RecordingStore, on any node that can read it. It checks every id
// and object name before touching storage (odd ids -> 404, never a path), asks the catalog on every
// request whether the broadcast still exists (a deleted one answers 410 at once, never 5xx), and
// renders with vod-playlists.ts. Caches the index of final recordings only; never writes.
import type { Readable } from 'node:stream';
import { AppError, type RecordingStore } from '@onair/platform';
import { isRecordedObjectName, readRecordingIndex, recordingKeys, type RecordingIndex } from '../record/recording-layout.js';
import type { PlaybackReply } from './playback-origin.js';
import { renderDvrMpd, renderVodMediaPlaylist, renderVodMpd, renderVodMultivariant } from './vod-playlists.js';

export interface RecordedBroadcast {
  /** where its media is in the store */
  prefix: string;
  status: 'recording' | 'complete' | 'partial';
  startedAtMs: number;
}

export interface BroadcastLookup {
  /** The broadcast, 'deleted' when it was deleted, undefined when there is no such id. */
  find(id: string): Promise<RecordedBroadcast | 'deleted' | undefined>;
}

export interface VodOriginOptions {
  /** DVR: how far back a live recording's DVR playlist reaches */
  dvrWindowSec: number;
  /** The node's /time URL, for the DVR MPD's UTCTiming (the node's URL is known once it listens). */
  timeUrl?: () => string;
}

const HLS_TYPE = 'application/vnd.apple.mpegurl';
const MPD_TYPE = 'application/dash+xml';
const ID = /^[A-Za-z0-9]{1,64}$/;
const TRACK = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_CACHED = 64;

const noStore = { 'Cache-Control': 'no-store' };
const fail = (status: number, code: string, message: string) => new AppError(status, code, message, noStore);

export class VodOrigin {
  private readonly finalIndexes = new Map<string, RecordingIndex>();

  constructor(
    private readonly store: RecordingStore,
    private readonly broadcasts: BroadcastLookup,
    private readonly opts: VodOriginOptions,
  ) {}

  /** GET /vod/{id}/index.m3u8 (`dvr`: /vod/{id}/dvr.m3u8, media playlists limited to the DVR window) */
  async multivariant(id: string, dvr = false): Promise<PlaybackReply> {
    const { index } = await this.open(id);
    let text = renderVodMultivariant(index);
    if (dvr) text = text.replace(/\/index\.m3u8/g, '/dvr.m3u8');
    return this.text(text, HLS_TYPE);
  }

  /** GET /vod/{id}/{track}/index.m3u8 (all of it) or dvr.m3u8 (the last DVR_WINDOW_MINUTES while live) */
  async mediaPlaylist(id: string, trackName: string, dvr = false): Promise<PlaybackReply> {
    const { b, index } = await this.open(id);
    const track = TRACK.test(trackName) ? index.tracks.find((t) => t.name === trackName) : undefined;
    if (!track) throw fail(404, 'track_not_found', 'no such track in this broadcast');
    const ended = b.status !== 'recording';
    const text = renderVodMediaPlaylist(track, {
      ended,
      startedAtMs: b.startedAtMs,
      ...(dvr && !ended ? { windowSec: this.opts.dvrWindowSec } : {}),
    });
    return this.text(text, HLS_TYPE, ended ? 'no-cache' : 'max-age=1');
  }

  /** GET /vod/{id}/manifest.mpd: static once final; a recording still in progress answers 409. */
  async mpd(id: string): Promise<PlaybackReply> {
    const { b, index } = await this.open(id);
    if (b.status === 'recording')
      throw fail(409, 'broadcast_recording', 'the broadcast is still live: play /dash/{streamId}/manifest.mpd, or its HLS DVR playlist');
    return this.text(renderVodMpd(index), MPD_TYPE);
  }

  /**
   * GET /vod/{id}/dvr.mpd: while the broadcast is recorded, a dynamic MPD over the DVR window (DASH
   * live rewind); once it has ended, the static MPD of the whole broadcast.
   */
  async dvrMpd(id: string): Promise<PlaybackReply> {
    const { b, index } = await this.open(id);
    if (b.status !== 'recording') return this.text(renderVodMpd(index), MPD_TYPE);
    const text = renderDvrMpd(index, {
      startedAtMs: b.startedAtMs,
      windowSec: this.opts.dvrWindowSec,
      nowMs: Date.now(),
      timeUrl: this.opts.timeUrl?.() ?? '/time',
    });
    return this.text(text, MPD_TYPE, 'max-age=1');
  }

  /** GET /vod/{id}/{track}/{file}: an init segment or a segment, as recorded. */
  async object(id: string, trackName: string, file: string): Promise<PlaybackReply> {
    if (!TRACK.test(trackName) || !isRecordedObjectName(file)) throw fail(404, 'object_not_found', 'no such object');
    const b = await this.find(id);
    const o = await this.store.open(`${recordingKeys.track(b.prefix, trackName)}/${file}`);
    if (!o) throw fail(404, 'object_not_found', 'no such object');
    return {
      status: 200,
      headers: {
        'Content-Type': file.endsWith('.m4s') ? 'video/iso.segment' : 'video/mp4',
        'Content-Length': String(o.size),
        'Cache-Control': 'max-age=60',
      },
      body: o.stream as Readable,
    };
  }

  /** The index of a broadcast (for the clip cutter and the API's duration). */
  async index(id: string): Promise<{ b: RecordedBroadcast; index: RecordingIndex }> {
    return this.open(id);
  }

  private async find(id: string): Promise<RecordedBroadcast> {
    if (!ID.test(id)) throw fail(404, 'broadcast_not_found', 'no such broadcast');
    const b = await this.broadcasts.find(id);
    if (b === 'deleted') {
      this.finalIndexes.delete(id);
      throw fail(410, 'broadcast_deleted', 'this broadcast was deleted');
    }
    if (!b) throw fail(404, 'broadcast_not_found', 'no such broadcast');
    return b;
  }

  private async open(id: string): Promise<{ b: RecordedBroadcast; index: RecordingIndex }> {
    const b = await this.find(id);
    const cached = this.finalIndexes.get(id);
    if (cached) return { b, index: cached };
    const index = await readRecordingIndex(this.store, b.prefix);
    if (!index || index.durationSec === 0) throw fail(404, 'broadcast_has_no_media', 'nothing of this broadcast was recorded yet');
    if (b.status !== 'recording') {
      if (this.finalIndexes.size >= MAX_CACHED) this.finalIndexes.delete(this.finalIndexes.keys().next().value!);
      this.finalIndexes.set(id, index);
    }
    return { b, index };
  }

  private text(body: string, type: string, cache = 'no-cache'): PlaybackReply {
    return { status: 200, headers: { 'Content-Type': type, 'Cache-Control': cache }, body: Buffer.from(body) };
  }
}
