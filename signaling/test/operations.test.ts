// /healthz, /readyz and /metrics on a real node, with and without a live broadcast.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { OnAirNode } from '@onair/signaling';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { publish, watch } from '../../test/support/werift-peers.js';

let node: OnAirNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.close());

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

it('reports liveness and readiness', async () => {
  const health = await fetch(`${node.url}/healthz`);
  expect(health.status).toBe(200);
  const ready = await fetch(`${node.url}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toEqual({ status: 'ready', checks: { database: true, mediasoup: true } });
});

it('exports media metrics in Prometheus text, following a broadcast and its viewer', async () => {
  const idle = await (await fetch(`${node.url}/metrics`)).text();
  expect(metric(idle, 'onair_mediasoup_workers')).toBe(1);
  expect(metric(idle, 'onair_producers')).toBe(0);
  expect(idle).toContain('process_cpu_seconds_total');

  const s = await createUserAndStream(node.url);
  const pub = await publish(node.url, s.id, s.streamKey, 'vp8');
  await waitFor('live', () => node.media.isLive(s.id));
  const viewer = await watch(node.url, s.id);
  await viewer.connected;
  await waitFor('video at the viewer', () => viewer.received.video > 30);
  const busy = await (await fetch(`${node.url}/metrics`)).text();
  expect(metric(busy, 'onair_live_streams')).toBe(1);
  expect(metric(busy, 'onair_producers')).toBe(2);
  expect(metric(busy, 'onair_consumers')).toBe(2);
  expect(metric(busy, 'onair_webrtc_viewers')).toBe(1);
  expect(metric(busy, 'onair_bitrate_in_bps')).toBeGreaterThan(100_000);
  expect(metric(busy, 'onair_bitrate_out_bps')).toBeGreaterThan(100_000);
  await viewer.stop();
  await pub.stop();
});

it('answers readiness 503 once its database is gone', async () => {
  const other = await startTestNode();
  await other.db.close();
  const res = await fetch(`${other.url}/readyz`);
  expect(res.status).toBe(503);
  expect(((await res.json()) as { checks: { database: boolean } }).checks.database).toBe(false);
  await other.close();
});

it('keeps /metrics behind METRICS_TOKEN when one is set: 401 without or with a wrong token, 200 with it', async () => {
  const token = 'metrics-token-0123456789';
  const guarded = await startTestNode({ METRICS_TOKEN: token });
  try {
    const none = await fetch(`${guarded.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('metrics_token_required');
    expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('onair_mediasoup_workers');
    expect((await fetch(`${guarded.url}/healthz`)).status).toBe(200); // liveness stays open for probes
  } finally {
    await guarded.close();
  }
});
