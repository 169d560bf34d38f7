// Exactly-once release: every resource a stream books is released on exactly one close path. After
// broadcasts whose viewers spread over a second router (pipeToRouter) start and stop again and
// again, the load booked on every mediasoup worker is back to zero (a double release would show
// as negative load and skew the least-loaded choice), and the node holds no listener it added for
// a stream.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { OnAirNode } from '@onair/signaling';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { makeOffer, publish } from '../../test/support/werift-peers.js';

let node: OnAirNode;
beforeAll(async () => {
  node = await startTestNode({ MEDIASOUP_WORKERS: '2', MEDIA_ROUTER_MAX_VIEWERS: '1' });
});
afterAll(async () => node?.close());

const CYCLES = 10;

it(`worker load is zero after ${CYCLES} broadcasts that grew to a second router start and stop`, async () => {
  const listenersBefore = { live: node.media.listenerCount('live'), offline: node.media.listenerCount('offline') };
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const s = await createUserAndStream(node.url, `cycle ${cycle}`);
    const pub = await publish(node.url, s.id, s.streamKey, 'vp8');
    try {
      await waitFor('live', () => node.media.isLive(s.id), 20_000);
      // Two viewer sessions (offers only: placement books them at once); the second fills a router on the other worker.
      for (let i = 0; i < 2; i++) {
        const offer = await makeOffer('recvonly');
        await offer.pc.close();
        const res = await fetch(`${node.url}/whep/${s.id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/sdp' },
          body: offer.sdp,
        });
        expect(res.status).toBe(201);
      }
      expect(node.media.pool.bookedLoad().every((n) => n > 0)).toBe(true); // both workers hold part of it
    } finally {
      await pub.stop();
    }
    await waitFor('broadcast ended', () => !node.media.isBroadcasting(s.id), 20_000);
    expect(node.media.pool.bookedLoad()).toEqual([0, 0]);
  }
  expect({ live: node.media.listenerCount('live'), offline: node.media.listenerCount('offline') }).toEqual(listenersBefore);
}, 240_000);
