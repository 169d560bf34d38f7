// Relay negotiation takes no stranger's word: a relay request on a node's bus subject must come from
// a live node of the registry and name that node's registered relay address, or it is refused and no
// link is opened (before, any NATS publisher could make a node stream RTP to any address).
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRegistry } from '@onair/origin-cascade';
import type { OnAirNode } from '@onair/signaling';
import { TEST_NATS_URL } from '../../test/support/nats-server.js';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { publish, type Publisher } from '../../test/support/werift-peers.js';

const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = `${process.pid}-${Date.now() % 100000}`;

let node: OnAirNode;
let publisher: Publisher;
let streamId: string;
beforeAll(async () => {
  node = await startTestNode({
    NATS_URL: TEST_NATS_URL,
    REDIS_URL: TEST_REDIS_URL,
    CASCADE: 'on',
    NODE_ID: `ra${run}`,
    CASCADE_REGISTRY_PREFIX: `onair-relay-admission-${run}`,
    CASCADE_HEARTBEAT_MS: '300',
  });
  const s = await createUserAndStream(node.url, 'relay admission');
  streamId = s.id;
  publisher = await publish(node.url, s.id, s.streamKey, 'vp8');
  await waitFor('live', () => node.media.isLive(s.id));
});
afterAll(async () => {
  await publisher?.stop();
  await node?.close();
});

async function relayRequest(body: object): Promise<string> {
  const nc = await connect({ servers: TEST_NATS_URL });
  try {
    const reply = await nc.request(`onair.cascade.node.ra${run}.relay`, Buffer.from(JSON.stringify(body)), { timeout: 5000 });
    return Buffer.from(reply.data).toString();
  } finally {
    await nc.close();
  }
}

describe('relay requests', () => {
  it('from a node the registry does not know: refused, no link', async () => {
    const reply = await relayRequest({ streamId, fromNodeId: 'stranger', enableSrtp: false, endpoint: { ip: '203.0.113.9', port: 5004 } });
    expect(reply).toMatch(/not a live node/);
    expect(node.media.downstreamCount(streamId)).toBe(0);
  });

  it("naming an endpoint other than the requesting node's registered relay address: refused, no link", async () => {
    // A live node of the registry whose relay address is 127.0.0.1; a request in its name asks for
    // the media to go to 203.0.113.9.
    const registry = await NodeRegistry.connect(TEST_REDIS_URL, `onair-relay-admission-${run}`, 60_000);
    try {
      await registry.heartbeat({
        nodeId: `edge${run}`,
        url: 'http://127.0.0.1:1',
        region: 'default',
        viewers: 0,
        maxViewers: 250,
        servesViewers: true,
        relayHost: '127.0.0.1',
        heartbeatAtMs: Date.now(),
      });
      const reply = await relayRequest({
        streamId,
        fromNodeId: `edge${run}`,
        enableSrtp: false,
        endpoint: { ip: '203.0.113.9', port: 5004 },
      });
      expect(reply).toMatch(/registered relay address/);
      expect(node.media.downstreamCount(streamId)).toBe(0);
    } finally {
      await registry.leave(`edge${run}`, []);
      await registry.close();
    }
  });
});
