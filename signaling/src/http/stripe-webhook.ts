// `POST /api/webhooks/stripe`: Stripe's event deliveries. The signature covers the exact bytes Stripe
// sent, so this route (alone, in its own plugin scope) reads the body raw instead of parsing JSON,
// then hands bytes and Stripe-Signature to TopUps, which verifies and applies each event once.
// Answers 200 for applied and replayed events alike (so Stripe stops retrying), 400 for a bad
// signature, and a status Stripe retries on when the event cannot be applied yet: 409 for a refund
// or dispute that arrived before its top-up's credit, 503 when the database is unavailable (the
// event's transaction rolled back, or its commit was cut off: the retry then answers "applied":
// false). Never trusts a field of the payload before the signature is checked.
import type { FastifyInstance } from 'fastify';
import { whileAvailable, type TopUps } from '@onair/platform';

export interface StripeWebhookDeps {
  topups: TopUps;
}

export async function registerStripeWebhook(app: FastifyInstance, deps: StripeWebhookDeps): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 512 * 1024 }, (_req, body, done) => done(null, body));
    scope.post('/api/webhooks/stripe', async (req) => {
      const header = req.headers['stripe-signature'];
      const signature = Array.isArray(header) ? header[0] : header;
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      // A lost database answers 503: Stripe retries the delivery later, and the event applies once.
      const result = await whileAvailable(() => deps.topups.applyWebhook(raw, signature));
      return { received: true, eventId: result.eventId, applied: result.applied };
    });
  });
}
