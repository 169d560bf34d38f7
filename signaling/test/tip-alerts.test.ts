// The tip alert end to end, on the embedded store (PGlite runs the same ledger SQL): a viewer tops up
// with test funds and tips; every viewer connected to the stream's channel receives the TipEvent
// once, and replaying the tip's Idempotency-Key neither charges again nor alerts again.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger, BusTipSink } from '@onair/platform';
import type { OnAirNode } from '@onair/signaling';
import { ChannelClient } from '../../test/support/channel-client.js';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';

let node: OnAirNode;
beforeAll(async () => {
  node = await startTestNode({ TIP_MIN_AMOUNT: '50' });
});
afterAll(async () => {
  await node?.close();
});

const post = (path: string, token: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${node.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify(body),
  });

describe('tip alerts on the embedded store', () => {
  it('every viewer of the stream gets the tip alert once; a replayed tip charges and alerts nobody again', async () => {
    expect(node.db.kind).toBe('embedded');
    const stream = await createUserAndStream(node.url, 'alerts');
    const tipper = await createUserAndStream(node.url, 'tipper'); // any signed-in user
    const viewers = [await ChannelClient.connect(node.url, stream.id), await ChannelClient.connect(node.url, stream.id, tipper.token)];
    const elsewhere = await ChannelClient.connect(node.url, tipper.id);
    try {
      const topup = await post('/api/wallet/topups', tipper.token, { amount: 1000 });
      expect(await topup.json()).toMatchObject({ provider: 'development', testFunds: true, balance: 1000 });
      const key = randomUUID();
      const res = await post(`/api/streams/${stream.id}/tips`, tipper.token, { amount: 300, message: 'hype!' }, { 'idempotency-key': key });
      expect(res.status).toBe(201);
      const { tip } = (await res.json()) as { tip: { id: string; fromUsername: string } };

      for (const v of viewers) await waitFor('the tip alert', () => v.of('tip').length > 0);
      const again = await post(
        `/api/streams/${stream.id}/tips`,
        tipper.token,
        { amount: 300, message: 'hype!' },
        { 'idempotency-key': key },
      );
      expect(((await again.json()) as { tip: { id: string } }).tip.id).toBe(tip.id);
      await node.tipEvents.flush();
      await new Promise((r) => setTimeout(r, 300));
      for (const v of viewers) {
        expect(
          v.of('tip').map((t) => ({
            tipId: t.tipId,
            fromUsername: t.fromUsername,
            amount: Number(t.amount),
            currency: t.currency,
            message: t.message,
          })),
        ).toEqual([{ tipId: tip.id, fromUsername: tip.fromUsername, amount: 300, currency: 'USD', message: 'hype!' }]);
      }
      expect(elsewhere.of('tip')).toEqual([]);
      const wallet = await fetch(`${node.url}/api/wallet`, { headers: { authorization: `Bearer ${tipper.token}` } });
      expect(await wallet.json()).toMatchObject({ balance: 700 });
      expect(await auditLedger(node.db)).toEqual([]);
    } finally {
      for (const c of [...viewers, elsewhere]) c.ws.close();
    }
  });

  it('a tip event the outbox relay delivers twice (a crash between publish and delete) alerts once', async () => {
    const stream = await createUserAndStream(node.url, 'redelivered');
    const viewer = await ChannelClient.connect(node.url, stream.id);
    try {
      const sink = new BusTipSink(node.bus);
      const event = { tipId: randomUUID(), fromUsername: 'someone', amount: 500, currency: 'USD', message: 'twice?' };
      await sink.publish(stream.id, event);
      await sink.publish(stream.id, event);
      await sink.publish(stream.id, { ...event, tipId: randomUUID() });
      await waitFor('two distinct alerts', () => viewer.of('tip').length >= 2);
      await new Promise((r) => setTimeout(r, 300));
      expect(viewer.of('tip').map((t) => t.message)).toEqual(['twice?', 'twice?']);
      expect(new Set(viewer.of('tip').map((t) => t.tipId)).size).toBe(2);
    } finally {
      viewer.ws.close();
    }
  });
});
