// HTTP for chat moderation: bans and timeouts (and the list of them), message deletion, chat
// settings, the stream's activity feed. Authenticates and validates shape; ChatModeration decides who
// may change things and tells every node, StreamActivity who may read them.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Accounts, ChatModeration, StreamActivity } from '@onair/platform';
import { optionalUser, requireUser } from './auth.js';
import { parseBody, parseParams, parseQuery } from './validate.js';

const Stream = z.object({ id: z.string().min(1).max(64) });
const BanParams = Stream.extend({ userId: z.string().min(1).max(64) });
const MessageParams = Stream.extend({ messageId: z.string().min(1).max(64) });
const BanBody = z.strictObject({
  userId: z.guid('userId must be a user id'),
  durationSeconds: z.number().int('durationSeconds is a whole number').positive().optional(),
  reason: z.string().max(500).optional(),
});
const ActivityQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'limit is a whole number')
    .transform(Number)
    .optional(),
});
const SettingsBody = z.strictObject({
  slowModeSeconds: z.number().int('slowModeSeconds is a whole number').min(0).max(3600).optional(),
  blockedTerms: z.array(z.string().max(50)).max(200).optional(),
});

export interface ModerationRouteDeps {
  accounts: Accounts;
  moderation: ChatModeration;
  activity: StreamActivity;
}

export function registerModerationRoutes(app: FastifyInstance, deps: ModerationRouteDeps): void {
  const { accounts, moderation, activity } = deps;

  app.get('/api/streams/:id/bans', async (req) => {
    const user = await requireUser(req, accounts);
    const { id } = parseParams(Stream, req.params);
    return { items: await activity.bans(id, user) };
  });

  app.get('/api/streams/:id/activity', async (req) => {
    const user = await requireUser(req, accounts);
    const { id } = parseParams(Stream, req.params);
    const { limit } = parseQuery(ActivityQuery, req.query);
    return { items: await activity.feed(id, user, limit) };
  });

  app.get('/api/streams/:id/chat-settings', async (req) => {
    const user = await optionalUser(req, accounts);
    const { id } = parseParams(Stream, req.params);
    return await activity.chatSettings(id, user);
  });

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
