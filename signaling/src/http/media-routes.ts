// WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep) HTTP endpoints. This layer checks content types,
// the stream key and the stream's existence, then calls the MediaPlane; SDP and media rules live there.
// With the cascade on, a WHEP POST first asks where the viewer belongs: served here (the stream is
// relayed here if needed) or 307 to another node (the client re-POSTs the same offer there).
// Session URLs (/whip/:id/:session) are unguessable capabilities, as in the RFC's examples.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, CLIENT_ID, type IceServer, type StreamCatalog } from '@onair/platform';
import type { IceServerSource } from './ice-servers.js';
import type { MediaPlane, SessionRole } from '@onair/sfu';

/** Where a WHEP viewer goes (the cascade); without it every viewer is served by this node. */
export interface ViewerPlacer {
  placeViewer(streamId: string): Promise<{ serve: true } | { redirect: string; nodeId: string }>;
}

export interface MediaRouteDeps {
  media: MediaPlane;
  streams: StreamCatalog;
  /** What the Link header offers (TURN credentials are minted per request). */
  iceServers: IceServerSource;
  placement?: ViewerPlacer | undefined;
}

const SDP = 'application/sdp';
const SDPFRAG = 'application/trickle-ice-sdpfrag';
const StreamParams = z.object({ streamId: z.string().min(1).max(64) });
const SessionParams = StreamParams.extend({ sessionId: z.string().min(1).max(64) });

export function registerMediaRoutes(app: FastifyInstance, deps: MediaRouteDeps): void {
  for (const type of [SDP, SDPFRAG]) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));
  }

  for (const [prefix, role] of [
    ['whip', 'ingest'],
    ['whep', 'viewer'],
  ] as const) {
    app.options(`/${prefix}/:streamId`, async (_req, reply) => {
      const link = iceServerLinks(deps.iceServers.current());
      if (link) reply.header('Link', link);
      reply.header('Accept-Post', SDP).header('Allow', 'OPTIONS, POST').code(204).send();
    });
    app.options(`/${prefix}/:streamId/:sessionId`, async (_req, reply) => {
      reply.header('Accept-Patch', SDPFRAG).header('Allow', 'OPTIONS, PATCH, DELETE').code(204).send();
    });

    app.post(`/${prefix}/:streamId`, async (req, reply) => {
      const { streamId } = parseParams(StreamParams, req.params);
      requireType(req, SDP);
      const stream = await deps.streams.get(streamId);
      if (!stream) throw new AppError(404, 'stream_not_found', `no stream with id ${streamId}`);
      if (role === 'ingest') await requireStreamKey(req, reply, deps.streams, streamId);
      if (role === 'viewer' && deps.placement) {
        const placed = await deps.placement.placeViewer(streamId);
        if ('redirect' in placed) {
          req.log.info({ streamId, to: placed.nodeId }, 'whep viewer redirected to another node');
          // 307 keeps the method and body: the client re-POSTs the same offer there (WHEP section 4.5).
          // The query (the player's client id) goes along.
          const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
          return reply
            .code(307)
            .header('Location', placed.redirect + query)
            .header('Cache-Control', 'no-store')
            .send();
        }
      }
      const sdp = String(req.body ?? '');
      // The SDK's client id ties this WebRTC session to the same player's HLS/DASH requests (one viewer).
      const client = (req.query as Record<string, unknown>).client;
      const clientId = typeof client === 'string' && CLIENT_ID.test(client) ? client : undefined;
      const answer =
        role === 'ingest' ? await deps.media.publish(streamId, sdp) : await deps.media.play(streamId, sdp, { clientId, address: req.ip });
      req.log.info({ streamId, sessionId: answer.sessionId, role }, `${prefix} session created`);
      const link = iceServerLinks(deps.iceServers.current());
      if (link) reply.header('Link', link);
      return reply
        .code(201)
        .header('Content-Type', SDP)
        .header('Location', `/${prefix}/${encodeURIComponent(streamId)}/${answer.sessionId}`)
        .header('ETag', answer.etag)
        .header('Accept-Patch', SDPFRAG)
        .send(answer.sdp);
    });

    app.patch(`/${prefix}/:streamId/:sessionId`, async (req, reply) => {
      const { streamId, sessionId } = parseParams(SessionParams, req.params);
      requireType(req, SDPFRAG);
      const ifMatch = req.headers['if-match'];
      const result = await deps.media.patch(role as SessionRole, streamId, sessionId, ifMatch, String(req.body ?? ''));
      if (result.status === 204) return reply.code(204).send();
      return reply.code(200).header('Content-Type', SDPFRAG).header('ETag', result.etag).send(result.body);
    });

    app.delete(`/${prefix}/:streamId/:sessionId`, async (req, reply) => {
      const { streamId, sessionId } = parseParams(SessionParams, req.params);
      deps.media.end(role as SessionRole, streamId, sessionId);
      req.log.info({ streamId, sessionId, role }, `${prefix} session deleted`);
      return reply.code(200).send();
    });
  }
}

function parseParams<T>(schema: z.ZodType<T>, params: unknown): T {
  const r = schema.safeParse(params);
  if (!r.success) throw new AppError(400, 'invalid_path', 'malformed stream or session id');
  return r.data;
}

function requireType(req: FastifyRequest, type: string): void {
  const got = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (got !== type) {
    throw new AppError(
      415,
      'unsupported_media_type',
      got ? `Content-Type must be ${type}, not ${got}` : `Content-Type ${type} is required`,
    );
  }
}

async function requireStreamKey(req: FastifyRequest, reply: FastifyReply, streams: StreamCatalog, streamId: string): Promise<void> {
  const auth = req.headers.authorization ?? '';
  const key = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
  if (!key || !(await streams.verifyStreamKey(streamId, key))) {
    reply.header('WWW-Authenticate', 'Bearer realm="whip"');
    throw new AppError(
      401,
      'invalid_stream_key',
      key ? 'the stream key is wrong (it may have been rotated)' : 'send the stream key as Authorization: Bearer <streamKey>',
    );
  }
}

/** RFC 9725 section 4.6: one Link rel="ice-server" per configured STUN/TURN URL. */
export function iceServerLinks(servers: IceServer[]): string | undefined {
  const links = servers.flatMap((s) =>
    (Array.isArray(s.urls) ? s.urls : [s.urls]).map((url) => {
      let l = `<${url}>; rel="ice-server"`;
      if (s.username !== undefined) l += `; username="${s.username}"`;
      if (s.credential !== undefined) l += `; credential="${s.credential}"; credential-type="password"`;
      return l;
    }),
  );
  return links.length ? links.join(', ') : undefined;
}
