// Stripe webhooks while PostgreSQL restarts: senders behave like Stripe (each event is delivered until
// it gets a 2xx, after a 5xx it is sent again, and some events are sent twice on purpose) while the
// machine's PostgreSQL restarts under them. Deliveries that meet the restart must get a 5xx (so Stripe
// retries), never a 4xx and never a crash of the node; afterwards every event is recorded once, every
// PaymentIntent is credited once, every refund taken back once, the test wallets hold exactly the
// top-ups minus the refunds, and the books balance. Webhooks are signed with the stripe package's
// test header helper; no Stripe API is needed (the route only verifies and applies events).
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '@onair/platform';
import type { OnAirNode } from '@onair/signaling';
import { createTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { startTestNode } from '../../test/support/onair-node.js';
import { postmasterStartTime, restartPostgres } from '../../test/support/postgres-restart.js';
import { paymentSucceeded, refundedCharge, type StripeEvent, stripeEvent } from '../../test/support/stripe-events.js';

const WEBHOOK_SECRET = 'whsec_onair_restart_secret';
const stripe = new Stripe('sk_test_onair_restart');
const SENDERS = 8;
const REFUNDED = 500; // each PaymentIntent is refunded in two events: 300, then 500 cumulative

let node: OnAirNode;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase('postgres');
  node = await startTestNode({
    DATABASE_URL: database.url!,
    STRIPE_SECRET_KEY: 'sk_test_onair_restart',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_URL: 'http://127.0.0.1:9', // never called: this test sends webhooks only
    LOG_LEVEL: 'silent',
  });
});
afterAll(async () => {
  await node?.close();
  await database?.dispose();
});

describe('Stripe webhooks during a PostgreSQL restart', () => {
  it('answer 5xx while the database is away, then apply every event exactly once, and the node never crashes', async () => {
    const escaped: unknown[] = [];
    const record = (err: unknown) => escaped.push(err);
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
    try {
      const users: string[] = [];
      for (let i = 0; i < SENDERS; i++) {
        const name = `payer_${randomBytes(4).toString('hex')}`;
        const rows = await node.db.query<{ id: string }>(
          `INSERT INTO users (username, username_key, password_hash) VALUES ($1, $1, 'x') RETURNING id::text AS id`,
          [name],
        );
        users.push(rows[0]!.id);
      }

      const statuses = new Map<number, number>();
      const appliedTrue = new Map<string, number>(); // event id -> deliveries answered "applied": true
      const delivered: StripeEvent[] = [];
      const intents: { id: string; amount: number }[] = [];
      const refundEvents: { id: string; delta: number }[] = [];
      const unexpected: string[] = [];

      // Like Stripe: send until a 2xx, again after a 5xx or a failed connection; a 4xx is a defect here.
      const deliver = async (ev: StripeEvent) => {
        const payload = JSON.stringify(ev);
        for (const until = Date.now() + 30_000; ; ) {
          let status = 0;
          let body: { applied?: boolean } = {};
          try {
            const res = await fetch(`${node.url}/api/webhooks/stripe`, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }),
              },
              body: payload,
            });
            status = res.status;
            body = (await res.json()) as { applied?: boolean };
          } catch {
            status = 0; // the node did not answer
          }
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status === 200) {
            if (body.applied === true) appliedTrue.set(ev.id, (appliedTrue.get(ev.id) ?? 0) + 1);
            return;
          }
          if (status >= 400 && status < 500) {
            unexpected.push(`${ev.type} ${ev.id}: ${status} ${JSON.stringify(body)}`);
            return;
          }
          if (Date.now() > until) throw new Error(`${ev.id} was not accepted within 30 s (last status ${status})`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };

      let stop = false;
      const sender = async (s: number) => {
        const userId = users[s]!;
        for (let n = 0; !stop; n++) {
          const pi = `pi_restart_${s}_${n}_${randomBytes(3).toString('hex')}`;
          const amount = 1000 + 10 * ((s * 7 + n) % 50);
          const succeeded = paymentSucceeded(pi, userId, amount);
          const charge = (refunded: number) => refundedCharge(pi, amount, refunded);
          const partial = stripeEvent('charge.refunded', charge(300));
          const more = stripeEvent('charge.refunded', charge(REFUNDED));
          await deliver(succeeded);
          await deliver(succeeded); // Stripe's at-least-once delivery: a replay
          await deliver(partial);
          await deliver(more);
          await deliver(more);
          intents.push({ id: pi, amount });
          delivered.push(succeeded, partial, more);
          refundEvents.push({ id: partial.id, delta: 300 }, { id: more.id, delta: REFUNDED - 300 });
          await new Promise((r) => setTimeout(r, 5));
        }
      };

      const serverStartedBefore = await postmasterStartTime(node.db);
      const load = Promise.all(users.map((_, s) => sender(s)));
      await new Promise((r) => setTimeout(r, 500));
      const doneBeforeRestart = intents.length;
      await restartPostgres();
      const doneWhenBack = intents.length;
      for (const until = Date.now() + 20_000; intents.length < doneWhenBack + 40 && Date.now() < until; ) {
        await new Promise((r) => setTimeout(r, 50));
      }
      stop = true;
      await load;

      expect(await postmasterStartTime(node.db)).not.toBe(serverStartedBefore); // the server really restarted
      expect(doneBeforeRestart).toBeGreaterThan(0); // the restart came in the middle of the load
      expect(intents.length).toBeGreaterThan(doneWhenBack);
      expect(unexpected).toEqual([]);
      expect(escaped).toEqual([]); // nothing was thrown outside a request (no crash)
      // Deliveries that met the restart were refused with 503 (retry later), never a 500 or a 4xx.
      expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
      expect([...statuses.keys()].sort()).toEqual([200, 503]);

      // Every event recorded once; each delivery that said "applied" was the only one for its event.
      const recorded = await node.db.query<{ id: string }>('SELECT id FROM stripe_events');
      expect(recorded.length).toBe(delivered.length);
      expect(new Set(recorded.map((r) => r.id))).toEqual(new Set(delivered.map((e) => e.id)));
      expect([...appliedTrue.values()].every((n) => n === 1)).toBe(true);

      // Every PaymentIntent credited once, for its amount; every refund event reversed its part once.
      const credits = await node.db.query<{ ref: string; n: string; total: string }>(
        `SELECT external_ref AS ref, count(*)::text AS n, sum(amount)::text AS total FROM ledger_transfers WHERE kind = 'topup' GROUP BY external_ref`,
      );
      expect(credits.length).toBe(intents.length);
      const byIntent = new Map(credits.map((c) => [c.ref, c]));
      for (const pi of intents)
        expect([pi.id, byIntent.get(pi.id)?.n, Number(byIntent.get(pi.id)?.total)]).toEqual([pi.id, '1', pi.amount]);
      const reversals = await node.db.query<{ ref: string; total: string }>(
        `SELECT external_ref AS ref, sum(amount)::text AS total FROM ledger_transfers WHERE kind = 'topup_reversal' GROUP BY external_ref`,
      );
      const byRefund = new Map(reversals.map((r) => [r.ref, Number(r.total)]));
      expect(reversals.length).toBe(refundEvents.length);
      for (const r of refundEvents) expect([r.id, byRefund.get(r.id)]).toEqual([r.id, r.delta]);
      const topups = await node.db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM topups WHERE status = 'succeeded' AND amount_refunded = $1`,
        [REFUNDED],
      );
      expect(Number(topups[0]!.n)).toBe(intents.length);

      // The wallets hold the top-ups minus the refunds, and the books balance.
      const held = await node.db.query<{ total: string }>(
        `SELECT coalesce(sum(balance), 0)::text AS total FROM ledger_accounts WHERE kind = 'wallet' AND owner_id = ANY($1::uuid[])`,
        [users],
      );
      const toppedUp = intents.reduce((a, pi) => a + pi.amount, 0);
      expect(Number(held[0]!.total)).toBe(toppedUp - REFUNDED * intents.length);
      expect(await auditLedger(node.db)).toEqual([]);

      const ready = await fetch(`${node.url}/readyz`);
      expect(ready.status).toBe(200);
      console.log(
        `webhook restart test: ${intents.length} PaymentIntents (${doneBeforeRestart} before the restart, ${doneWhenBack} when it was back), ` +
          `${delivered.length} events, answers ${JSON.stringify(Object.fromEntries(statuses))}`,
      );
    } finally {
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
    }
  }, 60_000);
});
