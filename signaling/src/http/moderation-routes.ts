// HTTP for chat moderation: bans and timeouts, message deletion, chat settings. Authenticates and
// validates shape; ChatModeration decides who may do it and tells every node.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Accounts, ChatModeration } from '@onair/platform';
import { requireUser } from './auth.js';
import { parseBody, parseParams } from './validate.js';

const Stream = z.object({ id: z.string().min(1).max(64) });
const BanParams = Stream.extend({ userId: z.string().min(1).max(64) });
const MessageParams = Stream.extend({ messageId: z.string().min(1).max(64) });
const BanBody = z.strictObject({
  userId: z.guid('userId must be a user id'),
  durationSeconds: z.number().int('durationSeconds is a whole number').positive().optional(),
  reason: z.string().max(500).optional(),
});
const SettingsBody = z.strictObject({
  slowModeSeconds: z.number().int('slowModeSeconds is a whole number').min(0).max(3600).optional(),
  blockedTerms: z.array(z.string().max(50)).max(200).optional(),
});

export function registerModerationRoutes(app: FastifyInstance, deps: { accounts: Accounts; moderation: ChatModeration }): void {
  const { accounts, moderation } = deps;

  app.post('/api/streams/:id/bans', async (req, reply) => {
    const user = await requireUser(req, accounts);
    const { id } = parseParams(Stream, req.params);
    const body = parseBody(BanBody, req.body);
    reply.code(201);
    return await moderation.ban(id, user, body.userId, { durationSeconds: body.durationSeconds, reason: body.reason });
  });

  app.delete('/api/streams/:id/bans/:userId', async (req, reply) => {
    const user = await requireUser(req, accounts);
    const { id, userId } = parseParams(BanParams, req.params);
    await moderation.unban(id, user, userId);
    return reply.code(204).send();
  });

  app.delete('/api/streams/:id/messages/:messageId', async (req, reply) => {
    const user = await requireUser(req, accounts);
    const { id, messageId } = parseParams(MessageParams, req.params);
    await moderation.deleteMessage(id, user, messageId);
    return reply.code(204).send();
  });

  app.patch('/api/streams/:id/chat-settings', async (req) => {
    const user = await requireUser(req, accounts);
    const { id } = parseParams(Stream, req.params);
    return await moderation.updateSettings(id, user, parseBody(SettingsBody, req.body));
  });
}
