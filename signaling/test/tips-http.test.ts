// Tips and the wallet over HTTP, against a real node on a fresh PostgreSQL database (group commit,
// development top-up provider, tip events on the bus).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger, streamTopics } from '@onair/platform';
import { onair } from '@onair/proto';
import type { OnAirNode } from '@onair/signaling';
import { createTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';

let node: OnAirNode;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase('postgres');
  node = await startTestNode({ DATABASE_URL: database.url!, TIP_MIN_AMOUNT: '5', TIP_MAX_AMOUNT: '100000', TIP_FEE_BPS: '500' });
});
afterAll(async () => {
  await node?.close();
  await database?.dispose();
});

let users = 0;
async function register(): Promise<{ token: string; id: string; username: string }> {
  const username = `tipper_${process.pid}_${++users}`;
  const res = await fetch(`${node.url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'correct horse battery' }),
  });
  const body = (await res.json()) as { token: string; user: { id: string } };
  return { token: body.token, id: body.user.id, username };
}

function call(method: string, path: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) {
  return fetch(`${node.url}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** key null: no Idempotency-Key header at all. */
const tip = (streamId: string, token: string, body: unknown, key: string | null = randomUUID()) =>
  call('POST', `/api/streams/${streamId}/tips`, token, body, key === null ? {} : { 'idempotency-key': key });

describe('tips over HTTP', () => {
  it('a viewer tops up with test funds, tips a stream, and the streamer sees it; the tip reaches the bus once', async () => {
    const streamer = await createUserAndStream(node.url, 'tip me');
    const viewer = await register();
    const received: onair.channel.v1.TipEvent[] = [];
    const sub = node.bus.subscribe(streamTopics.tip.subject(streamer.id), (data) => received.push(onair.channel.v1.TipEvent.decode(data)));

    const topup = await call('POST', '/api/wallet/topups', viewer.token, { amount: 2000 });
    expect(topup.status).toBe(201);
    expect(await topup.json()).toMatchObject({
      provider: 'development',
      testFunds: true,
      status: 'credited',
      amount: 2000,
      currency: 'USD',
      balance: 2000,
    });

    const res = await tip(streamer.id, viewer.token, { amount: 1000, message: 'great stream' });
    expect(res.status).toBe(201);
    const { tip: t } = (await res.json()) as { tip: Record<string, unknown> };
    expect(t).toMatchObject({
      streamId: streamer.id,
      fromUserId: viewer.id,
      fromUsername: viewer.username,
      amount: 1000,
      fee: 50,
      currency: 'USD',
      message: 'great stream',
    });

    expect(await (await call('GET', '/api/wallet', viewer.token)).json()).toMatchObject({ balance: 1000, currency: 'USD', earnings: 0 });
    expect(await (await call('GET', '/api/wallet', streamer.token)).json()).toMatchObject({ balance: 0, currency: 'USD', earnings: 950 });
    const history = (await (await call('GET', '/api/wallet/tips', streamer.token)).json()) as { items: unknown[] };
    expect(history.items).toEqual([t]);

    await waitFor('the tip event on the bus', () => received.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(received.map((e) => ({ ...e }))).toEqual([
      { tipId: t.id, fromUsername: viewer.username, amount: 1000, currency: 'USD', message: 'great stream' },
    ]);
    sub.unsubscribe();
  });

  it('bad input gets 400 with a code; unknown streams 404; self-tips and empty wallets are refused', async () => {
    const streamer = await createUserAndStream(node.url);
    const viewer = await register();
    await call('POST', '/api/wallet/topups', viewer.token, { amount: 500 });
    const cases: [unknown, number, string][] = [
      [{ amount: -100 }, 400, 'invalid_amount'],
      [{ amount: 0 }, 400, 'invalid_amount'],
      [{ amount: 10.5 }, 400, 'invalid_amount'],
      [{ amount: '100' }, 400, 'invalid_amount'],
      [{ amount: 'lots' }, 400, 'invalid_amount'],
      [{}, 400, 'invalid_amount'],
      [{ amount: 1e21 }, 400, 'amount_too_large'],
      [{ amount: 100_001 }, 400, 'amount_too_large'],
      [{ amount: 4 }, 400, 'amount_too_small'],
      [{ amount: 100, currency: 'EUR' }, 400, 'unsupported_currency'],
      [{ amount: 100, currency: 'dollars' }, 400, 'unsupported_currency'],
      [{ amount: 100, message: 42 }, 400, 'invalid_message'],
      [[100], 400, 'invalid_body'],
      ['{"amount": 1', 400, 'bad_request'],
      [{ amount: 501 }, 402, 'insufficient_funds'],
    ];
    for (const [body, status, code] of cases) {
      const res = await tip(streamer.id, viewer.token, body);
      expect([res.status, ((await res.json()) as { error: { code: string } }).error.code], JSON.stringify(body)).toEqual([status, code]);
    }
    const noKey = await tip(streamer.id, viewer.token, { amount: 100 }, null);
    expect([noKey.status, ((await noKey.json()) as { error: { code: string } }).error.code]).toEqual([400, 'missing_idempotency_key']);
    const unknown = await tip('no-such-stream', viewer.token, { amount: 100 });
    expect([unknown.status, ((await unknown.json()) as { error: { code: string } }).error.code]).toEqual([404, 'stream_not_found']);
    const self = await tip(streamer.id, streamer.token, { amount: 100 });
    expect([self.status, ((await self.json()) as { error: { code: string } }).error.code]).toEqual([400, 'cannot_tip_yourself']);
    const anonymous = await call('POST', `/api/streams/${streamer.id}/tips`, undefined, { amount: 100 }, { 'idempotency-key': 'a' });
    expect(anonymous.status).toBe(401);
    expect(await (await call('GET', '/api/wallet', viewer.token)).json()).toMatchObject({ balance: 500 });
    const badTopup = await call('POST', '/api/wallet/topups', viewer.token, { amount: 12.5 });
    expect([badTopup.status, ((await badTopup.json()) as { error: { code: string } }).error.code]).toEqual([400, 'invalid_amount']);
  });

  it('the same Idempotency-Key sent 50 times at once: one tip, 50 identical answers; another body gets 409', async () => {
    const streamer = await createUserAndStream(node.url);
    const viewer = await register();
    await call('POST', '/api/wallet/topups', viewer.token, { amount: 5000 });
    const key = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => tip(streamer.id, viewer.token, { amount: 700, message: 'once' }, key)),
    );
    const bodies = await Promise.all(answers.map((r) => r.text()));
    expect(answers.map((r) => r.status)).toEqual(Array(50).fill(201));
    expect(new Set(bodies).size).toBe(1);
    expect(await (await call('GET', '/api/wallet', viewer.token)).json()).toMatchObject({ balance: 4300 });
    const later = await tip(streamer.id, viewer.token, { amount: 700, message: 'once' }, key);
    expect([later.status, later.headers.get('idempotent-replayed'), await later.text()]).toEqual([201, 'true', bodies[0]]);
    const reused = await tip(streamer.id, viewer.token, { amount: 701, message: 'once' }, key);
    expect([reused.status, ((await reused.json()) as { error: { code: string } }).error.code]).toEqual([409, 'idempotency_key_reused']);
  });

  it('1,000 concurrent tips from a wallet funded for 100: exactly 100 succeed, the balance ends at 0', async () => {
    const streamer = await createUserAndStream(node.url);
    const viewer = await register();
    await call('POST', '/api/wallet/topups', viewer.token, { amount: 100 * 10 });
    const statuses = await Promise.all(
      Array.from({ length: 1000 }, async () => {
        const res = await tip(streamer.id, viewer.token, { amount: 10 });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(100);
    expect(statuses.filter((s) => s === 402)).toHaveLength(900);
    expect(await (await call('GET', '/api/wallet', viewer.token)).json()).toMatchObject({ balance: 0 });
    expect(await auditLedger(node.db)).toEqual([]);
    await node.tipEvents.flush();
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(Number(/^onair_tips_committed_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(100);
    expect(Number(/^onair_tip_events_published_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(100);
    expect(/^onair_tip_outbox_pending 0$/m.test(metrics)).toBe(true);
  });
});
