// GET /api/streams/{id}/thumbnail.jpg: the newest poster frame of a live stream, made by its HLS
// ladder every few seconds, for directory tiles. Short-lived cache headers so a CDN can front it.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { notFound } from '@onair/platform';
import { parseParams } from './validate.js';

const Params = z.object({ id: z.string().min(1).max(64) });

export interface ThumbnailSource {
  poster(streamId: string): { jpeg: Buffer; at: number } | undefined;
}

export function registerThumbnailRoutes(app: FastifyInstance, deps: { thumbnails: ThumbnailSource; maxAgeSeconds: number }): void {
  app.get('/api/streams/:id/thumbnail.jpg', async (req, reply) => {
    const { id } = parseParams(Params, req.params);
    const poster = deps.thumbnails.poster(id);
    if (!poster) throw notFound('thumbnail_not_found', 'this stream has no thumbnail (it is not live, or its first picture is not ready)');
    const etag = `"${createHash('sha1').update(poster.jpeg).digest('base64url').slice(0, 20)}"`;
    reply
      .header('cache-control', `public, max-age=${deps.maxAgeSeconds}`)
      .header('etag', etag)
      .header('last-modified', new Date(poster.at).toUTCString());
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('image/jpeg').send(poster.jpeg);
  });
}
