// Serves the web app's production build (web/dist): hashed assets under /assets with long caching,
// and index.html for the app's client-side routes. Without a build it explains how to make one.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const APP_ROUTES = ['/', '/dashboard', '/watch/:id'];

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
}
