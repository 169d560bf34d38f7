// One definition of a viewer (docs/api.md "Viewers"): a client playing the video, counted once per
// client id once its WebRTC session is connected. Chat sockets — the streamer's dashboard, a chat-only
// reader — are not viewers; a WHEP offer that never connects neither counts nor holds a slot for long.
// The channel's `viewers` frames and the directory show the same number.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { OnAirNode } from '@onair/signaling';
import { ChannelClient } from '../../test/support/channel-client.js';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { makeOffer, publish, watch, type Publisher, type Viewer } from '../../test/support/werift-peers.js';

let node: OnAirNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.close());

async function directoryCount(id: string): Promise<number> {
  const res = await fetch(`${node.url}/api/streams/${id}`);
  return ((await res.json()) as { viewerCount: number }).viewerCount;
}

/** The count every chat socket and the directory agree on, within a few audience intervals. */
async function expectViewers(n: number, id: string, sockets: ChannelClient[]): Promise<void> {
  await waitFor(`${n} viewers in the channel`, () => sockets.every((c) => c.of('viewers').at(-1)?.count === n), 10_000);
  await waitFor(`${n} viewers in the directory`, async () => (await directoryCount(id)) === n, 10_000);
}

it('counts players once per client, never chat sockets or the dashboard, and not an offer that never connects', async () => {
  const s = await createUserAndStream(node.url, 'counted right');
  let pub: Publisher | undefined;
  const viewers: Viewer[] = [];
  try {
    pub = await publish(node.url, s.id, s.streamKey, 'vp8');
    await waitFor('stream live', () => node.media.isLive(s.id), 20_000);
    // The streamer's dashboard and a chat-only reader: sockets, not viewers.
    const dashboard = await ChannelClient.connect(node.url, s.id, s.token);
    const reader = await ChannelClient.connect(node.url, s.id);
    const sockets = [dashboard, reader];
    await waitFor('a viewers frame', () => dashboard.of('viewers').length > 0, 10_000);
    await expectViewers(0, s.id, sockets);

    const a = await watch(node.url, s.id, { clientId: 'client-aaaaaaaa' });
    viewers.push(a);
    await a.connected;
    await expectViewers(1, s.id, sockets);

    const b = await watch(node.url, s.id, { clientId: 'client-bbbbbbbb' });
    viewers.push(b);
    await b.connected;
    await expectViewers(2, s.id, sockets);

    // The same player opening a second session (a reconnect, or WebRTC alongside its HLS fallback): one viewer.
    const a2 = await watch(node.url, s.id, { clientId: 'client-aaaaaaaa' });
    viewers.push(a2);
    await a2.connected;
    await new Promise((r) => setTimeout(r, 4500)); // two audience intervals
    await expectViewers(2, s.id, sockets);

    // An offer that never completes ICE/DTLS: not a viewer, and its session is released within 10 s.
    const sessionsBefore = node.media.viewerCount(s.id);
    const stray = await makeOffer('recvonly');
    await stray.pc.close(); // the peer goes away: ICE never completes
    const res = await fetch(`${node.url}/whep/${s.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: stray.sdp,
    });
    expect(res.status).toBe(201);
    expect(node.media.viewerCount(s.id)).toBe(sessionsBefore + 1);
    await new Promise((r) => setTimeout(r, 4500));
    await expectViewers(2, s.id, sockets);
    await waitFor('the stray session released', () => node.media.viewerCount(s.id) === sessionsBefore, 12_000);

    await b.stop();
    await expectViewers(1, s.id, sockets);
    dashboard.ws.close();
    reader.ws.close();
  } finally {
    await Promise.all(viewers.map((v) => v.stop().catch(() => {})));
    await pub?.stop();
  }
});
