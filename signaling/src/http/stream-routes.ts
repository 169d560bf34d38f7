// HTTP routes for streams: create, list (the directory), show, edit, rotate the key, manage moderators.
// Parses, authenticates, and calls StreamCatalog, StreamDirectory or StreamModerators (which decide
// who may do what). Never returns a stream key except in the responses to create and rotate.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  MAX_QUERY_CHARS,
  MAX_TAGS,
  notFound,
  type Accounts,
  type StreamCatalog,
  type StreamDirectory,
  type StreamModerators,
  type StreamRecord,
} from '@onair/platform';
import { requireUser } from './auth.js';
import { parseBody, parseParams, parseQuery } from './validate.js';

/** Absolute URLs of a stream's ingest and playback endpoints. */
export interface PlaybackUrls {
  whip(streamId: string): string;
  whep(streamId: string): string;
  hls(streamId: string): string;
  dash(streamId: string): string;
  /** The newest poster JPEG of a live stream (404 when there is none). */
  thumbnail(streamId: string): string;
  /** The RTMP server URL (`rtmp://host:port/live`; the stream key is the stream name); null when RTMP is off. */
  rtmp(): string | null;
  /** The SRT URL (the stream key goes in `streamid`); null when SRT is off. */
  srt(): string | null;
}

/** PlaybackUrls under one base URL (PUBLIC_URL, or the node's own http://host:port). */
export function playbackUrlsFor(baseUrl: string): PlaybackUrls {
  const base = baseUrl.replace(/\/+$/, '');
  const id = (streamId: string) => encodeURIComponent(streamId);
  return {
    whip: (s) => `${base}/whip/${id(s)}`,
    whep: (s) => `${base}/whep/${id(s)}`,
    hls: (s) => `${base}/hls/${id(s)}/index.m3u8`,
    dash: (s) => `${base}/dash/${id(s)}/manifest.mpd`,
    thumbnail: (s) => `${base}/api/streams/${id(s)}/thumbnail.jpg`,
    rtmp: () => null,
    srt: () => null,
  };
}

/** Where an encoder publishes a stream: WHIP (per stream), RTMP and SRT (one URL each, the key picks the stream). */
export function ingestView(streamId: string, urls: PlaybackUrls) {
  return { whip: urls.whip(streamId), rtmp: urls.rtmp(), srt: urls.srt() };
}

export interface StreamRouteDeps {
  accounts: Accounts;
  streams: StreamCatalog;
  moderators: StreamModerators;
  urls: PlaybackUrls;
  /** The cached, session-stable directory (built by the composition root). */
  directory: StreamDirectory;
  /** Called after a key rotation: the node ends a broadcast that used the old (maybe leaked) key. */
  onKeyRotated?: (streamId: string) => void;
  /** Called after the owner grants or revokes a moderator: the node tells every node's channel sessions. */
  onModeratorChanged?: (streamId: string, userId: string, moderator: boolean) => void;
}

const StreamParams = z.object({ id: z.string().min(1).max(64) });
const ModeratorParams = StreamParams.extend({ userId: z.guid('userId must be a user id') });

const CreateBody = z.object({
  title: z.string('title is required'),
  tags: z.array(z.string()).optional(),
  category: z.string().optional(),
  language: z.string().optional(),
});
const PatchBody = z.strictObject({
  title: z.string().optional(),
  tags: z.array(z.string()).optional(),
  category: z.string().optional(),
  language: z.string().optional(),
});
const ModeratorBody = z.union(
  [z.object({ userId: z.guid('userId must be a user id') }), z.object({ username: z.string().min(1).max(64) })],
  'send {userId} or {username}',
);

// strict: an unknown filter is a 400, not silently ignored (a typo would otherwise list everything)
const ListQuery = z.strictObject({
  live: z
    .enum(['true', 'false'], 'live is true or false')
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true')),
  q: z.string().max(MAX_QUERY_CHARS, `q is at most ${MAX_QUERY_CHARS} characters`).optional(),
  // repeated (?tag=a&tag=b) lists streams with every one of the tags
  tag: z.union([z.string().max(50), z.array(z.string().max(50)).max(MAX_TAGS, `at most ${MAX_TAGS} tag filters`)]).optional(),
  category: z.string().max(50).optional(),
  language: z.string().max(16).optional(),
  sort: z.enum(['viewers', 'recent', 'relevance'], 'sort is viewers, recent or relevance').optional(),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, 'limit is a whole number')
    .transform(Number)
    .optional(),
  cursor: z.string().max(512).optional(),
});

export function streamView(s: StreamRecord, urls: PlaybackUrls) {
  return {
    id: s.id,
    title: s.title,
    tags: s.tags,
    category: s.category,
    language: s.language,
    ownerId: s.ownerId,
    ownerName: s.ownerName,
    viewerCount: s.viewerCount,
    live: s.live,
    startedAt: s.startedAt?.toISOString() ?? null,
    endedAt: s.endedAt?.toISOString() ?? null,
    playback: { whep: urls.whep(s.id), hls: urls.hls(s.id), dash: urls.dash(s.id) },
    thumbnail: s.live ? urls.thumbnail(s.id) : null,
  };
}

/**
 * A stream as its owner sees it: the public view plus its ingest URLs, when it was created and why
 * its last broadcast ended (e.g. `unsupported_codec` when the encoder sent HEVC; null while live).
 */
export function ownedStreamView(s: StreamRecord, urls: PlaybackUrls) {
  return {
    ...streamView(s, urls),
    endedReason: s.live ? null : s.endedReason,
    createdAt: s.createdAt.toISOString(),
    ingest: ingestView(s.id, urls),
  };
}

export function registerStreamRoutes(app: FastifyInstance, deps: StreamRouteDeps): void {
  const { accounts, streams, moderators, directory, urls } = deps;

  app.post('/api/streams', async (req, reply) => {
    const user = await requireUser(req, accounts);
    const body = parseBody(CreateBody, req.body);
    const { stream, streamKey } = await streams.create(user.id, body);
    reply.code(201);
    return { ...streamView(stream, urls), streamKey, ingest: ingestView(stream.id, urls) };
  });

  // Polling is cheap: the ETag is the page's content version (the cached page's, usually), and a
  // matching If-None-Match gets 304 with no body.
  app.get('/api/streams', async (req, reply) => {
    const query = parseQuery(ListQuery, req.query);
    const page = await directory.list(query);
    const etag = `W/"${page.version}"`;
    reply.header('etag', etag).header('cache-control', 'no-cache');
    const match = req.headers['if-none-match'];
    if (match?.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) return reply.code(304).send();
    return { items: page.items.map((s) => streamView(s, urls)), nextCursor: page.nextCursor };
  });

  // The signed-in user's channel: their streams with their settings (never a stream key).
  app.get('/api/me/streams', async (req) => {
    const user = await requireUser(req, accounts);
    return { items: (await streams.listOwned(user.id)).map((s) => ownedStreamView(s, urls)) };
  });

  app.get('/api/streams/:id', async (req) => {
    const { id } = parseParams(StreamParams, req.params);
    const stream = await streams.get(id);
    if (!stream) return streamNotFound();
    return streamView(stream, urls);
  });

  app.patch('/api/streams/:id', async (req) => {
    const user = await requireUser(req, accounts);
    const { id } = parseParams(StreamParams, req.params);
    const patch = parseBody(PatchBody, req.body);
    return streamView(await streams.update(id, user, patch), urls);
  });

  app.post('/api/streams/:id/key/rotate', async (req) => {
    const user = await requireUser(req, accounts);
    const { id } = parseParams(StreamParams, req.params);
    const streamKey = await streams.rotateKey(id, user);
    deps.onKeyRotated?.(id);
    return { streamKey, ingest: ingestView(id, urls) };
  });

  app.get('/api/streams/:id/moderators', async (req) => {
    const { id } = parseParams(StreamParams, req.params);
    return { items: await moderators.list(id) };
  });

  app.post('/api/streams/:id/moderators', async (req, reply) => {
    const user = await requireUser(req, accounts);
    const { id } = parseParams(StreamParams, req.params);
    const body = parseBody(ModeratorBody, req.body);
    const moderator = await moderators.grant(id, user, 'userId' in body ? body.userId : { username: body.username });
    reply.code(201);
    deps.onModeratorChanged?.(id, moderator.userId, true);
    return moderator;
  });

  app.delete('/api/streams/:id/moderators/:userId', async (req, reply) => {
    const user = await requireUser(req, accounts);
    const { id, userId } = parseParams(ModeratorParams, req.params);
    await moderators.revoke(id, user, userId);
    deps.onModeratorChanged?.(id, userId, false);
    return reply.code(204).send();
  });
}

function streamNotFound(): never {
  throw notFound('stream_not_found', 'no such stream');
}
