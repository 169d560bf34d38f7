// HTTP for chat history: GET /api/streams/{id}/chat?before=&limit= (newest page first, messages
// oldest first within it; `before` is the sentAtMs of the oldest message already shown). Messages of
// users banned or timed out from the chat now are left out.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MAX_HISTORY_PAGE, notFound, type ChatHistory, type ChatService, type StreamCatalog } from '@onair/platform';
import { parseParams, parseQuery } from './validate.js';

const Params = z.object({ id: z.string().min(1).max(64) });
const Query = z.object({
  before: z
    .string()
    .regex(/^\d{1,15}$/, 'before is a time in epoch milliseconds')
    .transform(Number)
    .optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'limit is a whole number')
    .transform(Number)
    .pipe(z.number().min(1).max(MAX_HISTORY_PAGE, `limit is at most ${MAX_HISTORY_PAGE}`))
    .optional(),
});

export function registerChatRoutes(app: FastifyInstance, deps: { streams: StreamCatalog; history: ChatHistory; chat: ChatService }): void {
  app.get('/api/streams/:id/chat', async (req) => {
    const { id } = parseParams(Params, req.params);
    const { before, limit } = parseQuery(Query, req.query);
    if (!(await deps.streams.get(id))) throw notFound('stream_not_found', 'no such stream');
    const items = await deps.history.recent(id, { beforeMs: before, limit });
    // Paging follows the stored page; what is shown of it leaves out users banned from the chat now.
    const shown = await deps.chat.shownHistory(id, items);
    return {
      items: shown.map((m) => ({ id: m.id, userId: m.userId, username: m.username, text: m.text, sentAtMs: m.sentAtMs })),
      nextBefore: items.length > 0 && items.length === (limit ?? 50) ? items[0]!.sentAtMs : null,
    };
  });
}
