// HLS and DASH playback endpoints (LL-HLS, plain HLS, low-latency DASH) and the clock endpoint DASH
// players sync to. A thin adapter: it maps paths to PlaybackOrigin calls, ties a parked request to
// its client connection (a player that goes away stops waiting) and writes the reply. Blocking,
// caching and status rules live in @onair/hls-fallback, never here.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CLIENT_ID } from '@onair/platform';
import type { HttpAudience, PlaybackOrigin, PlaybackReply, PlaybackRequest } from '@onair/hls-fallback';

export interface PlaybackRouteDeps {
  /** This node's playlists, manifests and segments (built by the composition root). */
  origin: PlaybackOrigin;
  /**
   * The absolute URL of GET /time for the MPD's UTCTiming (the node's base URL, known once it
   * listens); without it (tests, the packager bench), derived from each request.
   */
  timeUrl?: () => string;
  /**
   * Where a stream not packaged on this node is (the base URL of its origin node in the cascade):
   * such requests answer 307 there. Undefined: 404 as usual.
   */
  locate?: (streamId: string) => Promise<string | undefined>;
  /** Counts the players fetching playlists (for the stream's viewer count). */
  audience?: HttpAudience;
}

interface Ids {
  streamId: string;
  track: string;
  session: string;
  file: string;
}

export function registerPlaybackRoutes(app: FastifyInstance, deps: PlaybackRouteDeps): void {
  const { origin } = deps;
  const handle =
    (call: (ids: Ids, r: PlaybackRequest, req: FastifyRequest) => Promise<PlaybackReply>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const ac = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) ac.abort();
      });
      const { streamId } = req.params as Ids;
      if (deps.locate && !origin.holds(streamId)) {
        const elsewhere = await deps.locate(streamId);
        if (elsewhere)
          return reply
            .code(307)
            .header('location', elsewhere.replace(/\/+$/, '') + req.url)
            .header('cache-control', 'no-store')
            .send();
      }
      const r: PlaybackRequest = { headers: req.headers, query: req.query as Record<string, unknown>, signal: ac.signal };
      const out = await call(req.params as Ids, r, req);
      reply.code(out.status).headers(out.headers);
      return reply.send(out.body);
    };

  const playlist = (call: (ids: Ids, r: PlaybackRequest, req: FastifyRequest) => Promise<PlaybackReply>) =>
    handle(async (ids, r, req) => {
      const out = await call(ids, r, req);
      if (out.status < 300) deps.audience?.saw(ids.streamId, playerIdentity(req));
      return out;
    });
  app.get(
    '/hls/:streamId/index.m3u8',
    handle((p, r) => origin.multivariant(p.streamId, r, true)),
  );
  app.get(
    '/hls/:streamId/plain.m3u8',
    handle((p, r) => origin.multivariant(p.streamId, r, false)),
  );
  app.get(
    '/hls/:streamId/:track/index.m3u8',
    playlist((p, r) => origin.mediaPlaylist(p.streamId, p.track, r, true)),
  );
  app.get(
    '/hls/:streamId/:track/plain.m3u8',
    playlist((p, r) => origin.mediaPlaylist(p.streamId, p.track, r, false)),
  );
  app.get(
    '/dash/:streamId/manifest.mpd',
    playlist((p, r, req) => origin.mpd(p.streamId, r, deps.timeUrl?.() ?? `${req.protocol}://${req.host}/time`)),
  );
  for (const prefix of ['hls', 'dash']) {
    app.get(
      `/${prefix}/:streamId/:track/:session/:file`,
      handle((p, r) => origin.object(p.streamId, p.track, p.session, p.file, r)),
    );
  }
  app.get('/time', async (_req, reply) =>
    reply.header('Cache-Control', 'no-store').header('Content-Type', 'text/plain; charset=utf-8').send(new Date().toISOString()),
  );
}

/**
 * Who a player is for viewer counts: the SDK's client id (header `X-OnAir-Client`, or `?client=` for
 * players that cannot set headers), else its address and user agent.
 */
function playerIdentity(req: FastifyRequest): string {
  const header = req.headers['x-onair-client'];
  const query = (req.query as Record<string, unknown>).client;
  const id = typeof header === 'string' ? header : typeof query === 'string' ? query : undefined;
  if (id !== undefined && CLIENT_ID.test(id)) return id;
  return `addr:${req.ip} ${String(req.headers['user-agent'] ?? '').slice(0, 200)}`;
}
