// A Fastify server with the product's error handler, CORS and playback routes, on port 0, serving
// whatever packagers the test puts in its map.
import Fastify, { type FastifyInstance } from 'fastify';
import { createLogger } from '@onair/platform';
import { PlaybackOrigin, type CmafPackager } from '@onair/hls-fallback';
import { installCors } from '../../../signaling/src/http/cors.js';
import { installErrorHandler } from '../../../signaling/src/http/error-handler.js';
import { registerPlaybackRoutes } from '../../../signaling/src/http/playback-routes.js';

export interface TestOrigin {
  url: string;
  app: FastifyInstance;
  packagers: Map<string, CmafPackager>;
  /** requests seen, by path+query (the CDN test counts origin hits with it) */
  hits: Map<string, number>;
  /** when the origin sent its answer to each path+query (performance.now(), the last one) */
  sentAt: Map<string, number>;
  close(): Promise<void>;
}

export async function startOrigin(opts: { noMediaWaitMs?: number } = {}): Promise<TestOrigin> {
  const app = Fastify();
  const packagers = new Map<string, CmafPackager>();
  const hits = new Map<string, number>();
  app.addHook('onRequest', async (req) => {
    hits.set(req.url, (hits.get(req.url) ?? 0) + 1);
  });
  const sentAt = new Map<string, number>();
  app.addHook('onSend', async (req) => {
    sentAt.set(req.url, performance.now());
  });
  installErrorHandler(app, createLogger('silent'));
  installCors(app);
  registerPlaybackRoutes(app, {
    origin: new PlaybackOrigin(packagers, opts.noMediaWaitMs !== undefined ? { noMediaWaitMs: opts.noMediaWaitMs } : {}),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}`, app, packagers, hits, sentAt, close: () => app.close() };
}
