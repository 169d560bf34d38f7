// Turns every failure into the contract's JSON error body. AppErrors carry their own status and code;
// Fastify's own client errors (bad JSON, body too large, unsupported media type) keep their 4xx;
// anything else is a bug: logged once with the request context and answered 500 without details.
import type { FastifyError, FastifyInstance } from 'fastify';
import { isAppError, type Logger } from '@onair/platform';

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
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) {
      const code = (err as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type'
        : status === 413 ? 'body_too_large' : 'bad_request';
      return sendError(reply, status, code, err.message);
    }
    log.error({ err, method: req.method, url: req.url }, 'unhandled error');
    return sendError(reply, 500, 'internal', 'internal server error');
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'not_found', `no route for ${req.method} ${req.url.split('?')[0]}`));
}
