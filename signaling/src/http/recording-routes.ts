// HTTP for past broadcasts (CONTRACT "Recordings and clips"): the broadcast list of a stream, one
// broadcast, its deletion, and VOD/DVR playback under /vod/{broadcastId}/... A thin adapter: it parses
// and authorises, then calls Broadcasts (the catalog and its rules) or VodOrigin (playlists and
// objects from the RecordingStore). Odd ids and names never reach storage (VodOrigin checks them).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  clipKey,
  MAX_BROADCAST_PAGE,
  MAX_CLIP_PAGE,
  notFound,
  type Accounts,
  type BroadcastRecord,
  type BroadcastReplay,
  type Broadcasts,
  type ClipRecord,
  type Clips,
  type RecordingStore,
  type StreamCatalog,
} from '@onair/platform';
import type { PlaybackReply, VodOrigin } from '@onair/hls-fallback';
import { requireUser } from './auth.js';
import { parseBody, parseParams, parseQuery } from './validate.js';

export interface RecordingRouteDeps {
  accounts: Accounts;
  streams: StreamCatalog;
  broadcasts: Broadcasts;
  vod: VodOrigin;
  clips: Clips;
  replay: BroadcastReplay;
  /** Where clip MP4s are read from. */
  store: RecordingStore;
  /** This node's base URL (known once it listens), for the playback URLs in listings. */
  baseUrl: () => string;
}

const StreamParams = z.object({ id: z.string().min(1).max(64) });
const BroadcastParams = z.object({ id: z.string().regex(/^[A-Za-z0-9]{12}$/, 'not a broadcast id') });
const ListQuery = z.object({
  cursor: z.string().max(64).optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'limit is a whole number')
    .transform(Number)
    .pipe(z.number().min(1).max(MAX_BROADCAST_PAGE, `limit is at most ${MAX_BROADCAST_PAGE}`))
    .optional(),
});

const ClipsQuery = z.object({
  cursor: z.string().max(64).optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'limit is a whole number')
    .transform(Number)
    .pipe(z.number().min(1).max(MAX_CLIP_PAGE, `limit is at most ${MAX_CLIP_PAGE}`))
    .optional(),
});
const Title = z.string().trim().min(1).max(140).optional();
const LiveClipBody = z.object({ durationSeconds: z.number().int('durationSeconds is a whole number'), title: Title });
const BroadcastClipBody = z.object({
  startMs: z.number().int('startMs is a whole number'),
  durationMs: z.number().int('durationMs is a whole number'),
  title: Title,
});
const ms = (name: string) =>
  z
    .string()
    .regex(/^\d{1,12}$/, `${name} is a whole number of milliseconds`)
    .transform(Number);
const ReplayQuery = z.object({ fromMs: ms('fromMs').optional(), toMs: ms('toMs').optional() });
const ClipFile = z.object({ file: z.string().regex(/^[A-Za-z0-9]{12}\.mp4$/, 'not a clip file') });

export function clipJson(c: ClipRecord, base: string) {
  return {
    id: c.id,
    streamId: c.streamId,
    broadcastId: c.broadcastId,
    title: c.title,
    streamer: c.streamerName,
    clippedBy: c.username,
    startMs: c.startMs,
    durationMs: c.durationMs,
    bytes: c.bytes,
    createdAt: new Date(c.createdAtMs).toISOString(),
    url: `${base}/clip/${c.id}`,
    mp4: `${base}/clips/${c.id}.mp4`,
    broadcastUrl: `${base}/broadcast/${c.broadcastId}?t=${Math.floor(c.startMs / 1000)}`,
  };
}

export function broadcastJson(b: BroadcastRecord, base: string) {
  return {
    id: b.id,
    streamId: b.streamId,
    title: b.title,
    startedAt: new Date(b.startedAtMs).toISOString(),
    endedAt: b.endedAtMs === null ? null : new Date(b.endedAtMs).toISOString(),
    durationMs: b.durationMs,
    status: b.status,
    ...(b.stopReason ? { stopReason: b.stopReason } : {}),
    playback: {
      hls: `${base}/vod/${b.id}/index.m3u8`,
      dash: `${base}/vod/${b.id}/manifest.mpd`,
      ...(b.status === 'recording' ? { dvr: `${base}/vod/${b.id}/dvr.m3u8`, dvrDash: `${base}/vod/${b.id}/dvr.mpd` } : {}),
    },
  };
}

export function registerRecordingRoutes(app: FastifyInstance, deps: RecordingRouteDeps): void {
  const { broadcasts, vod } = deps;

  app.get('/api/streams/:id/broadcasts', async (req) => {
    const { id } = parseParams(StreamParams, req.params);
    const { cursor, limit } = parseQuery(ListQuery, req.query);
    if (!(await deps.streams.get(id))) throw notFound('stream_not_found', 'no such stream');
    const page = await broadcasts.listForStream(id, { cursor, limit });
    const base = deps.baseUrl();
    return { items: page.items.map((b) => broadcastJson(b, base)), nextCursor: page.nextCursor };
  });

  app.get('/api/broadcasts/:id', async (req) => {
    const { id } = parseParams(BroadcastParams, req.params);
    const b = await broadcasts.get(id);
    if (!b) throw notFound('broadcast_not_found', 'no such broadcast');
    return broadcastJson(b, deps.baseUrl());
  });

  // Chat replay: chat, tips and reaction bursts with their offset from the broadcast's start.
  app.get('/api/broadcasts/:id/chat', async (req) => {
    const { id } = parseParams(BroadcastParams, req.params);
    const q = parseQuery(ReplayQuery, req.query);
    const b = await broadcasts.get(id);
    if (!b) throw notFound('broadcast_not_found', 'no such broadcast');
    const fromMs = q.fromMs ?? 0;
    return deps.replay.events(b, fromMs, q.toMs ?? fromMs + 60_000);
  });

  app.delete('/api/broadcasts/:id', async (req, reply) => {
    const user = await requireUser(req, deps.accounts);
    const { id } = parseParams(BroadcastParams, req.params);
    await broadcasts.delete(id, user);
    return reply.code(204).send();
  });

  app.post('/api/streams/:id/clips', async (req, reply) => {
    const user = await requireUser(req, deps.accounts);
    const { id } = parseParams(StreamParams, req.params);
    const body = parseBody(LiveClipBody, req.body);
    if (!(await deps.streams.get(id))) throw notFound('stream_not_found', 'no such stream');
    const clip = await deps.clips.clipLive(user, id, body.durationSeconds * 1000, body.title);
    return reply.code(201).send(clipJson(clip, deps.baseUrl()));
  });

  app.post('/api/broadcasts/:id/clips', async (req, reply) => {
    const user = await requireUser(req, deps.accounts);
    const { id } = parseParams(BroadcastParams, req.params);
    const body = parseBody(BroadcastClipBody, req.body);
    const clip = await deps.clips.clipBroadcast(user, id, body.startMs, body.durationMs, body.title);
    return reply.code(201).send(clipJson(clip, deps.baseUrl()));
  });

  app.get('/api/clips/:id', async (req) => {
    const { id } = parseParams(BroadcastParams, req.params);
    const clip = await deps.clips.get(id);
    if (!clip) throw notFound('clip_not_found', 'no such clip');
    return clipJson(clip, deps.baseUrl());
  });

  app.get('/api/streams/:id/clips', async (req) => {
    const { id } = parseParams(StreamParams, req.params);
    const { cursor, limit } = parseQuery(ClipsQuery, req.query);
    if (!(await deps.streams.get(id))) throw notFound('stream_not_found', 'no such stream');
    const page = await deps.clips.listForStream(id, { cursor, limit });
    const base = deps.baseUrl();
    return { items: page.items.map((c) => clipJson(c, base)), nextCursor: page.nextCursor };
  });

  // The clip's MP4: inline for <video>, as a download with ?download=1.
  app.get('/clips/:file', async (req, reply) => {
    const { file } = parseParams(ClipFile, req.params);
    const id = file.slice(0, 12);
    const clip = await deps.clips.get(id);
    const o = clip && (await deps.store.open(clipKey(id)));
    if (!o) throw notFound('clip_not_found', 'no such clip');
    const download = (req.query as Record<string, unknown>).download === '1';
    reply.header('Content-Type', 'video/mp4').header('Content-Length', String(o.size)).header('Cache-Control', 'public, max-age=3600');
    if (download) reply.header('Content-Disposition', `attachment; filename="clip-${id}.mp4"`);
    return reply.send(o.stream);
  });

  // Playback. Ids and names are checked by VodOrigin (404), so no pattern here can reach a path.
  const send = (reply: FastifyReply, out: PlaybackReply) => reply.code(out.status).headers(out.headers).send(out.body);
  type P = { id: string; track: string; file: string };
  app.get('/vod/:id/index.m3u8', async (req, reply) => send(reply, await vod.multivariant((req.params as P).id)));
  app.get('/vod/:id/dvr.m3u8', async (req, reply) => send(reply, await vod.multivariant((req.params as P).id, true)));
  app.get('/vod/:id/manifest.mpd', async (req, reply) => send(reply, await vod.mpd((req.params as P).id)));
  app.get('/vod/:id/dvr.mpd', async (req, reply) => send(reply, await vod.dvrMpd((req.params as P).id)));
  app.get('/vod/:id/:track/index.m3u8', async (req, reply) => {
    const p = req.params as P;
    return send(reply, await vod.mediaPlaylist(p.id, p.track));
  });
  app.get('/vod/:id/:track/dvr.m3u8', async (req, reply) => {
    const p = req.params as P;
    return send(reply, await vod.mediaPlaylist(p.id, p.track, true));
  });
  app.get('/vod/:id/:track/:file', async (req, reply) => {
    const p = req.params as P;
    return send(reply, await vod.object(p.id, p.track, p.file));
  });
}
