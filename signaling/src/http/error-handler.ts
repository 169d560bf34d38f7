// Turns every failure into the contract's JSON error body. AppErrors carry their own status and code;
// the media plane's MediaErrors get theirs from media-errors.ts;
// Fastify's own client errors (bad JSON, body too large, unsupported media type) keep their 4xx;
// a value the database refuses as data (SQLSTATE class 22) is the client's: 400 `invalid_input`;
// anything else is a bug: logged once with the request context and answered 500 without details.
import type { FastifyError, FastifyInstance } from 'fastify';
import { isAppError, isDataException, type Logger } from '@onair/platform';
import { isMediaError } from '@onair/sfu';
import { mediaErrorReply } from './media-errors.js';

export function sendError(
  reply: { code(n: number): unknown; header(k: string, v: string): unknown; send(b: unknown): unknown },
  status: number,
  code: string,
  message: string,
) {
  reply.code(status);
  reply.header('content-type', 'application/json; charset=utf-8');
  return reply.send({ error: { code, message } });
}

export function installErrorHandler(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (isAppError(err)) {
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      return sendError(reply, err.status, err.code, err.message);
    }
    if (isMediaError(err)) {
      const { status, headers } = mediaErrorReply(err);
      for (const [k, v] of Object.entries(headers)) reply.header(k, v);
      return sendError(reply, status, err.code, err.message);
    }
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) {
      const code =
        (err as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported_media_type'
          : status === 413
            ? 'body_too_large'
            : 'bad_request';
      return sendError(reply, status, code, err.message);
    }
    if (isDataException(err)) {
      // Input the database could not take (a NUL byte, invalid UTF-8, a malformed uuid): the client's.
      log.warn({ err, method: req.method, url: req.url }, 'input refused by the database');
      return sendError(
        reply,
        400,
        'invalid_input',
        'a value in the request cannot be stored or looked up (control characters or a malformed id?)',
      );
    }
    log.error({ err, method: req.method, url: req.url }, 'unhandled error');
    return sendError(reply, 500, 'internal', 'internal server error');
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'not_found', `no route for ${req.method} ${req.url.split('?')[0]}`));
}

/**
 * Fastify refuses `Content-Type: application/json` with an empty body; clients commonly send that
 * header on body-less POSTs (key rotation), so an empty body parses as "no body" instead.
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('the request body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });
}
