// The node's HTTP server with deadlines for slow clients (slowloris): the request headers must
// arrive within 10 s and the whole request within 30 s of its start, checked every second (Node's
// default check runs every 30 s). Responses are not limited: a blocking LL-HLS playlist request or a
// long download is the server's to answer. Upgraded sockets (the WebSocket channel) leave the HTTP
// server's bookkeeping at the upgrade and live under the channel's own rules.
import { createServer, type RequestListener, type Server } from 'node:http';

export const HTTP_DEADLINES = { headersMs: 10_000, requestMs: 30_000, checkEveryMs: 1_000 };

export function createHttpServer(handler: RequestListener, deadlines = HTTP_DEADLINES): Server {
  return createServer(
    { headersTimeout: deadlines.headersMs, requestTimeout: deadlines.requestMs, connectionsCheckingInterval: deadlines.checkEveryMs },
    handler,
  );
}
