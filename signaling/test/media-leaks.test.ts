// Nothing is left behind: after a broadcast with 20 viewers coming and going ends, the mediasoup
// workers hold no router or transport of it, the node tracks no session, and no viewer is counted.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { OnAirNode } from '@onair/signaling';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { publish, watch, type Publisher, type Viewer } from '../../test/support/werift-peers.js';

let node: OnAirNode;
beforeAll(async () => {
  node = await startTestNode({ LOG_LEVEL: process.env.LEAK_LOG ?? 'warn' });
});
afterAll(async () => node?.close());

const routerIds = async () => new Set((await node.media.workerDumps()).flatMap((d) => d.routerIds));

/** Runs `body` with a live broadcast; the publisher and any viewers are stopped even if it throws. */
async function withBroadcast(body: (id: string, viewers: Viewer[]) => Promise<void>): Promise<{ routerId: string }> {
  const before = await routerIds();
  const s = await createUserAndStream(node.url);
  const viewers: Viewer[] = [];
  let pub: Publisher | undefined;
  let routerId = '';
  try {
    pub = await publish(node.url, s.id, s.streamKey, 'vp8');
    await waitFor('stream live', () => node.media.isLive(s.id), 20_000);
    routerId = [...(await routerIds())].find((r) => !before.has(r))!;
    expect(routerId).toBeDefined();
    await body(s.id, viewers);
  } finally {
    await Promise.all(viewers.map((v) => v.pc.close().catch(() => {})));
    await pub?.stop();
  }
  await waitFor('broadcast ended', () => !node.media.isBroadcasting(s.id));
  return { routerId };
}

/**
 * A werift viewer that receives video. werift (the test client, not the SFU) now and then fails a
 * connection right after connecting when the machine is loaded; such a viewer is replaced, and
 * its abandoned session is part of what must be cleaned up.
 */
async function healthyViewer(id: string, all: Viewer[], budget: { replacements: number }): Promise<Viewer> {
  for (;;) {
    const v = await watch(node.url, id);
    all.push(v);
    const ok = await v.connected
      .then(() => waitFor('video at the viewer', () => v.received.video > 0 || v.pc.connectionState === 'failed', 20_000))
      .then(
        () => v.received.video > 0,
        () => false,
      );
    if (ok) return v;
    if (--budget.replacements < 0) throw new Error('too many werift viewers failed to connect');
    await v.stop();
  }
}

it('a broadcast with 20 viewers attaching and detaching leaves no mediasoup object behind', async () => {
  const budget = { replacements: 5 };
  const { routerId } = await withBroadcast(async (id, all) => {
    for (let round = 0; round < 2; round++) {
      const viewers = await Promise.all(Array.from({ length: 10 }, () => healthyViewer(id, all, budget)));
      await waitFor('failed viewers released', () => node.media.viewerCount(id) === 10);
      expect(node.media.counts().consumers).toBe(20); // audio + video each
      await Promise.all(viewers.map((v) => v.stop()));
      await waitFor('viewers released', () => node.media.viewerCount(id) === 0);
    }
    expect(node.media.counts().consumers).toBe(0);
  });
  expect((await routerIds()).has(routerId)).toBe(false);
  expect(node.media.counts()).toMatchObject({ streams: 0, viewers: 0, producers: 0, consumers: 0 });
}, 180_000);

it('ending the broadcast while viewers are attached closes their sessions too', async () => {
  const locations: string[] = [];
  const { routerId } = await withBroadcast(async (id, all) => {
    const viewers = await Promise.all(Array.from({ length: 3 }, () => watch(node.url, id)));
    all.push(...viewers);
    locations.push(...viewers.map((v) => v.location));
    await Promise.all(viewers.map((v) => v.connected));
  });
  expect((await routerIds()).has(routerId)).toBe(false);
  for (const url of locations) expect((await fetch(url, { method: 'DELETE' })).status).toBe(404);
}, 60_000);
