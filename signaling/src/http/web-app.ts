// Serves the web app's production build (web/dist): hashed assets under /assets with long caching,
// and index.html for the app's client-side routes (with or without a trailing slash). Any other page
// path a browser asks for (`/channels/foo`) gets index.html too, with status 404, so people see the
// app's not-found page rather than a JSON error; API and media paths keep their JSON 404.
// Without a build it explains how to make one.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { notFound } from '@onair/platform';

const APP_ROUTES = [
  '/',
  '/dashboard',
  '/dashboard/',
  '/watch/:id',
  '/watch/:id/',
  '/broadcast/:id',
  '/broadcast/:id/',
  '/clip/:id',
  '/clip/:id/',
];
/** Paths machines call: an unknown one is a JSON 404, never the app's page. */
const NOT_PAGES = /^\/(api|whip|whep|hls|dash|vod|clips|ws|assets|metrics|healthz|readyz)(\/|$)/;

export async function registerWebApp(app: FastifyInstance, distDir: string): Promise<void> {
  const built = existsSync(join(distDir, 'index.html'));
  if (!built) {
    for (const route of APP_ROUTES) {
      app.get(route, async (_req, reply) =>
        reply.code(503).type('text/plain').send(`The web app is not built (${distDir} is missing). Run: npm run build\n`),
      );
    }
    return;
  }
  await app.register(fastifyStatic, {
    root: distDir,
    prefix: '/',
    index: false,
    wildcard: false,
    // Vite hashes asset names, so they never change under one URL.
    maxAge: '365d',
    immutable: true,
  });
  for (const route of APP_ROUTES) {
    app.get(route, async (_req, reply) => reply.header('Cache-Control', 'no-cache').sendFile('index.html', { cacheControl: false }));
  }
  app.get('/*', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    if (NOT_PAGES.test(path)) throw notFound('not_found', `no route for ${req.method} ${path}`);
    return reply.code(404).header('Cache-Control', 'no-cache').sendFile('index.html', { cacheControl: false });
  });
}
