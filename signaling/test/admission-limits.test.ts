// Admission per client address on a real node: WHEP sessions that are still connecting are capped
// per address (429 too_many_pending with Retry-After; a session that connects or is deleted frees
// its slot), and so are open channel sockets (the upgrade gets 429). Behind a proxy named in
// TRUST_PROXY the forwarded address counts, so the clients of one proxy are not one client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { OnAirNode } from '@onair/signaling';
import { ChannelClient } from '../../test/support/channel-client.js';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { makeOffer, publish, watch, type Publisher } from '../../test/support/werift-peers.js';

describe('pending WHEP sessions per address', () => {
  let node: OnAirNode;
  let publisher: Publisher;
  let streamId: string;
  let viewerOffer: string;
  beforeAll(async () => {
    node = await startTestNode({ WHEP_PENDING_PER_ADDRESS: '2' });
    const s = await createUserAndStream(node.url, 'admission');
    streamId = s.id;
    publisher = await publish(node.url, s.id, s.streamKey, 'vp8');
    await waitFor('live', () => node.media.isLive(s.id));
    const v = await makeOffer('recvonly', 'vp8');
    viewerOffer = v.sdp;
    await v.pc.close();
  });
  afterAll(async () => {
    await publisher?.stop();
    await node?.close();
  });

  const whep = () =>
    fetch(`${node.url}/whep/${streamId}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: viewerOffer });

  it('admits 2 sessions that never connect, refuses the 3rd with 429, and takes one again when a slot frees', async () => {
    const first = await whep();
    const second = await whep();
    expect([first.status, second.status]).toEqual([201, 201]);
    const third = await whep();
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('2');
    expect(((await third.json()) as { error: { code: string } }).error.code).toBe('too_many_pending');

    expect((await fetch(node.url + first.headers.get('location'), { method: 'DELETE' })).status).toBe(200);
    const again = await whep();
    expect(again.status).toBe(201);
    for (const r of [second, again]) await fetch(node.url + r.headers.get('location'), { method: 'DELETE' });
  });

  it('does not count viewers once they are connected', async () => {
    const viewers = [];
    for (let i = 0; i < 3; i++) {
      const v = await watch(node.url, streamId);
      await v.connected; // connected: no longer pending, so a 3rd (over the limit of 2) is admitted
      viewers.push(v);
    }
    expect(node.media.viewerCount(streamId)).toBeGreaterThanOrEqual(3);
    for (const v of viewers) await v.stop();
  });
});

describe('channel sockets per address', () => {
  let node: OnAirNode;
  beforeAll(async () => {
    node = await startTestNode({ WS_CONNECTIONS_PER_ADDRESS: '3', TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(async () => {
    await node?.close();
  });

  const viaProxy = (streamId: string, client: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`${node.url.replace('http', 'ws')}/ws/${streamId}`, { headers: { 'x-forwarded-for': client } });
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
      ws.once('error', reject);
    });

  it('refuses the 4th socket from one address with 429 and admits it again after one closes; forwarded clients count apart', async () => {
    const s = await createUserAndStream(node.url, 'sockets');
    const sockets = [await viaProxy(s.id, '198.51.100.1'), await viaProxy(s.id, '198.51.100.1'), await viaProxy(s.id, '198.51.100.1')];
    await expect(viaProxy(s.id, '198.51.100.1')).rejects.toThrow(/429/);
    // Another client behind the same (trusted) proxy is another address.
    const other = await viaProxy(s.id, '198.51.100.2');
    const closed = new Promise((r) => sockets[0]!.once('close', r));
    sockets[0]!.close();
    await closed;
    await waitFor('the slot to free', async () =>
      viaProxy(s.id, '198.51.100.1').then(
        (ws) => {
          sockets.push(ws);
          return true;
        },
        () => false,
      ),
    );
    for (const ws of [...sockets, other]) ws.close();
    // Without a forwarded header, the proxy itself is the client; the ChannelClient helper is one more.
    const direct = await ChannelClient.connect(node.url, s.id);
    await direct.close();
  });
});
