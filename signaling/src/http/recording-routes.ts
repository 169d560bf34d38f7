// HTTP for past broadcasts (CONTRACT "Recordings and clips"): the broadcast list of a stream, one
// broadcast, its deletion, and VOD/DVR playback under /vod/{broadcastId}/... A thin adapter: it parses
// and authorises, then calls Broadcasts (the catalog and its rules) or VodOrigin (playlists and
// objects from the RecordingStore). Odd ids and names never reach storage (VodOrigin checks them).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { MAX_BROADCAST_PAGE, notFound, type Accounts, type BroadcastRecord, type Broadcasts, type StreamCatalog } from '@onair/platform';
import type { PlaybackReply, VodOrigin } from '@onair/hls-fallback';
import { requireUser } from './auth.js';
import { parseParams, parseQuery } from './validate.js';

export interface RecordingRouteDeps {
  accounts: Accounts;
  streams: StreamCatalog;
  broadcasts: Broadcasts;
  vod: VodOrigin;
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
      ...(b.status === 'recording' ? { dvr: `${base}/vod/${b.id}/dvr.m3u8` } : {}),
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

  app.delete('/api/broadcasts/:id', async (req, reply) => {
    const user = await requireUser(req, deps.accounts);
    const { id } = parseParams(BroadcastParams, req.params);
    await broadcasts.delete(id, user);
    return reply.code(204).send();
  });

  // Playback. Ids and names are checked by VodOrigin (404), so no pattern here can reach a path.
  const send = (reply: FastifyReply, out: PlaybackReply) => reply.code(out.status).headers(out.headers).send(out.body);
  type P = { id: string; track: string; file: string };
  app.get('/vod/:id/index.m3u8', async (req, reply) => send(reply, await vod.multivariant((req.params as P).id)));
  app.get('/vod/:id/dvr.m3u8', async (req, reply) => send(reply, await vod.multivariant((req.params as P).id, true)));
  app.get('/vod/:id/manifest.mpd', async (req, reply) => send(reply, await vod.mpd((req.params as P).id)));
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
