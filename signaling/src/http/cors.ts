// CORS for browser clients on other origins (players, WHIP/WHEP tools). Auth is by bearer header,
// never cookies, so any origin may call; preflights are answered here for every route.
import type { FastifyInstance } from 'fastify';

const EXPOSED = 'Location, ETag, Link, Accept-Patch, Accept-Post, Retry-After, Content-Type';

export function installCors(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    reply.header('Access-Control-Allow-Origin', '*');
    reply.header('Access-Control-Expose-Headers', EXPOSED);
    if (req.method === 'OPTIONS') {
      reply.header('Access-Control-Allow-Methods', 'GET, POST, PATCH, DELETE, OPTIONS');
      reply.header(
        'Access-Control-Allow-Headers',
        'Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, Range, X-OnAir-Client',
      );
      reply.header('Access-Control-Max-Age', '86400');
    }
  });
  app.options('/*', async (_req, reply) => reply.code(204).send());
}
