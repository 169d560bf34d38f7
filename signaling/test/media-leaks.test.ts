// Nothing is left behind: after a broadcast with 20 viewers coming and going ends, the mediasoup
// workers hold no router or transport, the node tracks no session, and no viewer is counted.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { OnAirNode } from '@onair/signaling';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { publish, watch } from '../../test/support/werift-peers.js';

let node: OnAirNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.close());

const held = async () => {
  const dumps = await node.media.workerDumps();
  return { routers: dumps.reduce((n, d) => n + d.routerIds.length, 0), webRtcServers: dumps.reduce((n, d) => n + d.webRtcServerIds.length, 0) };
};

it('a broadcast with 20 viewers attaching and detaching leaves no mediasoup object behind', async () => {
  const s = await createUserAndStream(node.url);
  const pub = await publish(node.url, s.id, s.streamKey, 'vp8');
  await waitFor('stream live', () => node.media.isLive(s.id));

  const [router] = (await node.media.workerDumps()).flatMap((d) => d.routerIds);
  expect(router).toBeDefined();

  for (let round = 0; round < 2; round++) {
    const viewers = await Promise.all(Array.from({ length: 10 }, () => watch(node.url, s.id)));
    await Promise.all(viewers.map((v) => v.connected));
    await waitFor('video reaches every viewer', () => viewers.every((v) => v.received.video > 0));
    expect(node.media.viewerCount(s.id)).toBe(10);
    expect(node.media.counts().consumers).toBe(20); // audio + video each
    await Promise.all(viewers.map((v) => v.stop()));
    await waitFor('viewers released', () => node.media.viewerCount(s.id) === 0);
  }
  expect(node.media.counts().consumers).toBe(0);
  await pub.stop();
  await waitFor('broadcast ended', () => !node.media.isBroadcasting(s.id));
  expect(await held()).toEqual({ routers: 0, webRtcServers: 0 });
  expect(node.media.counts()).toMatchObject({ streams: 0, viewers: 0, producers: 0, consumers: 0 });
});

it('ending the broadcast while viewers are attached closes their sessions too', async () => {
  const s = await createUserAndStream(node.url);
  const pub = await publish(node.url, s.id, s.streamKey, 'vp8');
  await waitFor('stream live', () => node.media.isLive(s.id));
  const viewers = await Promise.all(Array.from({ length: 3 }, () => watch(node.url, s.id)));
  await Promise.all(viewers.map((v) => v.connected));
  await pub.stop();
  await waitFor('broadcast ended', () => !node.media.isBroadcasting(s.id));
  expect(await held()).toEqual({ routers: 0, webRtcServers: 0 });
  for (const v of viewers) expect((await fetch(v.location, { method: 'DELETE' })).status).toBe(404);
  await Promise.all(viewers.map((v) => v.pc.close()));
});
