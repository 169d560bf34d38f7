// Stripe top-ups against a real node on PostgreSQL. Stripe's servers are not reachable from tests, so
// a local HTTP server stands in for api.stripe.com (the stripe client's host/port/protocol point at
// it) and records what we send; webhooks are signed with the stripe package's test header helper.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '@onair/platform';
import type { OnAirNode } from '@onair/signaling';
import { createTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { paymentSucceeded, stripeEvent } from '../../test/support/stripe-events.js';
import { startTestNode } from '../../test/support/onair-node.js';

const SECRET_KEY = 'sk_test_onair_fake_key';
const WEBHOOK_SECRET = 'whsec_onair_test_secret';
const stripe = new Stripe(SECRET_KEY);

interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  form: URLSearchParams;
}

let node: OnAirNode;
let database: TestDatabase;
let stripeApi: Server;
const seen: SeenRequest[] = [];
let intents = 0;

beforeAll(async () => {
  stripeApi = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      seen.push({ method: req.method!, path: req.url!, headers: req.headers, form });
      if (req.method === 'POST' && req.url === '/v1/payment_intents') {
        const id = `pi_test_${++intents}`;
        res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${intents}` });
        res.end(
          JSON.stringify({
            id,
            object: 'payment_intent',
            amount: Number(form.get('amount')),
            currency: form.get('currency'),
            client_secret: `${id}_secret_xyz`,
            status: 'requires_payment_method',
            metadata: {},
          }),
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'invalid_request_error', message: 'unknown path' } }));
    });
  });
  await new Promise<void>((r) => stripeApi.listen(0, '127.0.0.1', r));
  const port = (stripeApi.address() as AddressInfo).port;
  database = await createTestDatabase('postgres');
  node = await startTestNode({
    DATABASE_URL: database.url!,
    STRIPE_SECRET_KEY: SECRET_KEY,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_URL: `http://127.0.0.1:${port}`,
  });
});
afterAll(async () => {
  await node?.close();
  await database?.dispose();
  await new Promise((r) => stripeApi?.close(r));
});

let users = 0;
async function register(): Promise<{ token: string; id: string }> {
  const res = await fetch(`${node.url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: `payer_${process.pid}_${++users}`, password: 'correct horse battery' }),
  });
  const body = (await res.json()) as { token: string; user: { id: string } };
  return { token: body.token, id: body.user.id };
}

async function balance(token: string): Promise<number> {
  const res = await fetch(`${node.url}/api/wallet`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as { balance: number }).balance;
}

function deliver(event: object, options: { secret?: string; signature?: string | null; timestamp?: number } = {}) {
  const payload = JSON.stringify(event);
  const signature =
    options.signature !== undefined
      ? options.signature
      : stripe.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? WEBHOOK_SECRET, timestamp: options.timestamp });
  return fetch(`${node.url}/api/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'stripe-signature': signature }) },
    body: payload,
  });
}

const event = stripeEvent;
const succeeded = paymentSucceeded;

async function topUp(token: string, amount: number): Promise<{ paymentIntentId: string; clientSecret: string; provider: string }> {
  const res = await fetch(`${node.url}/api/wallet/topups`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ amount }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { paymentIntentId: string; clientSecret: string; provider: string };
}

describe('Stripe top-ups', () => {
  it('a top-up creates a PaymentIntent for the amount and credits nothing yet', async () => {
    const user = await register();
    const before = seen.length;
    const created = await topUp(user.token, 2500);
    expect(created).toMatchObject({
      provider: 'stripe',
      paymentIntentId: expect.stringMatching(/^pi_test_/),
      clientSecret: expect.stringContaining('_secret_'),
      amount: 2500,
      currency: 'USD',
      status: 'pending',
    });
    const req = seen.slice(before).find((r) => r.path === '/v1/payment_intents')!;
    expect(req.method).toBe('POST');
    expect(req.headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
    expect(req.headers['idempotency-key']).toBeTruthy(); // the stripe client makes POST retries safe
    expect(Object.fromEntries(req.form)).toMatchObject({
      amount: '2500',
      currency: 'usd',
      'metadata[onair_user_id]': user.id,
      'automatic_payment_methods[enabled]': 'true',
    });
    expect(await balance(user.token)).toBe(0);

    // With an Idempotency-Key, the key goes to Stripe (scoped to the user): a double click is one PaymentIntent there.
    const keyed = seen.length;
    const res = await fetch(`${node.url}/api/wallet/topups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}`, 'idempotency-key': 'click-1' },
      body: JSON.stringify({ amount: 1500 }),
    });
    expect(res.status).toBe(201);
    expect(seen.slice(keyed).find((r) => r.path === '/v1/payment_intents')!.headers['idempotency-key']).toBe(
      `onair-topup:${user.id}:click-1`,
    );
  });

  it('a verified payment_intent.succeeded credits the wallet once; a replay changes nothing; a bad signature is 400', async () => {
    const user = await register();
    const { paymentIntentId } = await topUp(user.token, 3000);
    const ev = succeeded(paymentIntentId, user.id, 3000);

    const forged = await deliver(ev, { secret: 'whsec_someone_else' });
    expect([forged.status, ((await forged.json()) as { error: { code: string } }).error.code]).toEqual([400, 'invalid_signature']);
    const unsigned = await deliver(ev, { signature: null });
    expect(unsigned.status).toBe(400);
    const garbage = await deliver(ev, { signature: 't=1,v1=deadbeef' });
    expect(garbage.status).toBe(400);
    const stale = await deliver(ev, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale.status).toBe(400);
    expect(await balance(user.token)).toBe(0);

    const ok = await deliver(ev);
    expect([ok.status, await ok.json()]).toEqual([200, { received: true, eventId: ev.id, applied: true }]);
    expect(await balance(user.token)).toBe(3000);

    const replay = await deliver(ev);
    expect([replay.status, await replay.json()]).toEqual([200, { received: true, eventId: ev.id, applied: false }]);
    // Stripe may also announce the same PaymentIntent in another event: still credited once.
    const twin = await deliver(succeeded(paymentIntentId, user.id, 3000));
    expect(twin.status).toBe(200);
    const concurrent = succeeded(paymentIntentId, user.id, 3000);
    await Promise.all(Array.from({ length: 10 }, () => deliver(concurrent)));
    expect(await balance(user.token)).toBe(3000);
    expect(await auditLedger(node.db)).toEqual([]);
  });

  it('refunds and disputes post reversing entries; what the wallet no longer holds is written off, never negative', async () => {
    const user = await register();
    const { paymentIntentId } = await topUp(user.token, 5000);
    expect((await deliver(succeeded(paymentIntentId, user.id, 5000))).status).toBe(200);
    expect(await balance(user.token)).toBe(5000);

    const charge = (refunded: number) => ({
      id: 'ch_test_1',
      object: 'charge',
      amount: 5000,
      amount_refunded: refunded,
      currency: 'usd',
      payment_intent: paymentIntentId,
    });
    expect((await deliver(event('charge.refunded', charge(1000)))).status).toBe(200);
    expect(await balance(user.token)).toBe(4000);
    const refund = event('charge.refunded', charge(1500)); // cumulative: 500 more
    expect((await deliver(refund)).status).toBe(200);
    expect((await deliver(refund)).status).toBe(200); // replay
    expect(await balance(user.token)).toBe(3500);

    const dispute = {
      id: 'dp_test_1',
      object: 'dispute',
      amount: 3500,
      currency: 'usd',
      payment_intent: paymentIntentId,
      charge: 'ch_test_1',
    };
    // The user spends most of it first: the dispute takes what is left and writes off the rest.
    await node.db.query(
      `INSERT INTO users (username, username_key, password_hash) VALUES ('sink_${process.pid}', 'sink_${process.pid}', 'x')`,
    );
    const [wallet, other] = await Promise.all([
      node.tips.wallets.userAccount('wallet', user.id),
      node.db.query<{ id: string }>(`SELECT id::text AS id FROM users WHERE username_key = 'sink_${process.pid}'`),
    ]);
    const sink = await node.tips.wallets.userAccount('earnings', other[0]!.id);
    await node.db.transaction((tx) =>
      node.tips.wallets.post(tx, { kind: 'tip', debitAccountId: wallet, creditAccountId: sink, amount: 3000, currency: 'USD' }),
    );
    expect((await deliver(event('charge.dispute.funds_withdrawn', dispute))).status).toBe(200);
    expect(await balance(user.token)).toBe(0);
    const writeOff = await node.db.query<{ balance: string }>(
      `SELECT balance::text AS balance FROM ledger_accounts WHERE kind = 'write_off'`,
    );
    expect(writeOff[0]!.balance).toBe('-3000');
    expect((await deliver(event('charge.dispute.funds_reinstated', dispute))).status).toBe(200);
    expect(await balance(user.token)).toBe(3500);
    expect(await auditLedger(node.db)).toEqual([]);
  });

  it('a refund that arrives before its top-up was credited is refused (409) until the credit is in, then applied once', async () => {
    const user = await register();
    const { paymentIntentId } = await topUp(user.token, 4000);
    const refund = event('charge.refunded', {
      id: 'ch_test_early',
      object: 'charge',
      amount: 4000,
      amount_refunded: 1000,
      currency: 'usd',
      payment_intent: paymentIntentId,
    });
    const early = await deliver(refund);
    expect([early.status, ((await early.json()) as { error: { code: string } }).error.code]).toEqual([409, 'topup_not_credited']);
    expect(await node.db.query('SELECT id FROM stripe_events WHERE id = $1', [refund.id])).toEqual([]); // not recorded: Stripe delivers it again

    expect((await deliver(succeeded(paymentIntentId, user.id, 4000))).status).toBe(200);
    const again = await deliver(refund);
    expect([again.status, await again.json()]).toEqual([200, { received: true, eventId: refund.id, applied: true }]);
    expect(await balance(user.token)).toBe(3000);
    expect((await deliver(refund)).status).toBe(200);
    expect(await balance(user.token)).toBe(3000);
    // A refund for a PaymentIntent that is no OnAir top-up is acknowledged and changes nothing.
    const foreign = await deliver(
      event('charge.refunded', {
        id: 'ch_test_foreign',
        object: 'charge',
        amount: 900,
        amount_refunded: 900,
        currency: 'usd',
        payment_intent: 'pi_not_ours',
      }),
    );
    expect(foreign.status).toBe(200);
    expect(await auditLedger(node.db)).toEqual([]);
  });

  it('an unsupported or malformed top-up amount is a 400', async () => {
    const user = await register();
    for (const amount of [0, -1, 1.25, '500', null, 10 ** 9]) {
      const res = await fetch(`${node.url}/api/wallet/topups`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
        body: JSON.stringify({ amount }),
      });
      expect(res.status, String(amount)).toBe(400);
    }
  });
});
