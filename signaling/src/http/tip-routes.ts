// HTTP routes for tips: `POST /api/streams/{id}/tips` (Idempotency-Key required) and the signed-in
// streamer's tip history. Parses and authenticates, then calls TipLedger, which holds every rule
// (amounts, currency, self-tips, idempotency, funds). Never touches balances itself.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { badRequest, whileAvailable, type Accounts, type TipLedger } from '@onair/platform';
import { requireUser } from './auth.js';
import { parseBody, parseParams, parseQuery } from './validate.js';

export interface TipRouteDeps {
  accounts: Accounts;
  tips: TipLedger;
}

const StreamParams = z.object({ id: z.string().min(1).max(64) });
// Shape only: what counts as a valid amount, currency or message is TipLedger's call.
const TipBody = z.object(
  { amount: z.unknown().optional(), currency: z.unknown().optional(), message: z.unknown().optional() },
  'the body is a JSON object',
);
const HistoryQuery = z.object({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'limit is a whole number')
    .transform(Number)
    .optional(),
  cursor: z.string().max(200).optional(),
});

export function registerTipRoutes(app: FastifyInstance, deps: TipRouteDeps): void {
  const { accounts, tips } = deps;

  app.post('/api/streams/:id/tips', async (req, reply) => {
    const user = await requireUser(req, accounts);
    const { id } = parseParams(StreamParams, req.params);
    const body = parseBody(TipBody, req.body);
    const header = req.headers['idempotency-key'];
    const idempotencyKey = Array.isArray(header) ? header[0] : header;
    const { tip, replayed } = await tips.tip(user, {
      streamId: id,
      amount: body.amount,
      currency: body.currency,
      message: body.message,
      idempotencyKey,
    });
    if (replayed) reply.header('idempotent-replayed', 'true');
    reply.code(201);
    return { tip };
  });

  /** Tips the signed-in user received as a streamer, newest first. */
  app.get('/api/wallet/tips', async (req) => {
    const user = await requireUser(req, accounts);
    const query = parseQuery(HistoryQuery, req.query);
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
    const before = query.cursor ? decodeCursor(query.cursor) : undefined;
    const items = await whileAvailable(() => tips.received(user.id, limit + 1, before));
    const page = items.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = items.length > limit && last ? Buffer.from(JSON.stringify([last.createdAt, last.id])).toString('base64url') : null;
    return { items: page, nextCursor };
  });
}

function decodeCursor(text: string): { createdAt: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(at);
    if (!Number.isNaN(createdAt.getTime()) && /^[0-9a-f-]{36}$/.test(id)) return { createdAt, id };
  } catch {
    // fall through
  }
  throw badRequest('invalid_cursor', 'cursor is not one this listing gave out');
}
