// A node on the open internet: requests a stranger can craft are refused with a 4xx and the node
// goes on serving everyone else (issue: one `GET /ws/%` upgrade used to end the process).
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { OnAirNode } from '@onair/signaling';
import { ChannelClient } from '../../test/support/channel-client.js';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { publish } from '../../test/support/werift-peers.js';

let node: OnAirNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => node?.close());

/** Sends a raw WebSocket upgrade for `path` and returns the status line the node answers with. */
async function rawUpgrade(path: string): Promise<string> {
  const { port } = new URL(node.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let reply = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to the upgrade of ${path}`)));
    socket.on('data', (d) => (reply += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(reply.split('\r\n')[0] ?? ''));
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
  });
}

it('refuses WebSocket upgrades with malformed percent-encoding and keeps serving chat', async () => {
  const s = await createUserAndStream(node.url);
  for (const path of ['/ws/%', '/ws/%zz', '/ws/%E0%A4%A', '/ws/%C0', `/ws/${'%'.repeat(3000)}`]) {
    expect(await rawUpgrade(path), path).toMatch(/^HTTP\/1\.1 400 /);
  }
  expect(await rawUpgrade('/ws/no-such-stream')).toMatch(/^HTTP\/1\.1 404 /);
  const health = await fetch(`${node.url}/healthz`);
  expect(health.status).toBe(200);
  const client = await ChannelClient.connect(node.url, s.id, s.token);
  client.chat('still here');
  await waitFor('the chat message to come back', () => client.chatMessages.some((m) => m.text === 'still here'));
  client.ws.close();
});

it('answers HTTP paths with malformed percent-encoding with a 4xx JSON error', async () => {
  for (const path of ['/api/streams/%', '/api/streams/%zz/key/rotate', '/whep/%', '/hls/%/master.m3u8']) {
    const res = await fetch(`${node.url}${path}`);
    expect(res.status, path).toBeGreaterThanOrEqual(400);
    expect(res.status, path).toBeLessThan(500);
  }
  // A lone `%` in a query string is read literally (a search for "%"), not refused.
  expect((await fetch(`${node.url}/api/streams?q=%`)).status).toBe(200);
  expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
});

it("takes no client's word for its address or this node's host: the MPD's UTCTiming is the node's own URL", async () => {
  const hlsNode = await startTestNode({ HLS_MODE: 'always', HLS_POSTER_INTERVAL_MS: '0' });
  const s = await createUserAndStream(hlsNode.url, 'forwarded headers');
  const pub = await publish(hlsNode.url, s.id, s.streamKey, 'h264');
  try {
    let mpd = '';
    await waitFor(
      'the MPD',
      async () => {
        const res = await fetch(`${hlsNode.url}/dash/${s.id}/manifest.mpd`, {
          headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' },
        });
        mpd = await res.text();
        return res.status === 200;
      },
      30_000,
    );
    const timing = /<UTCTiming[^>]*value="([^"]+)"/.exec(mpd)?.[1];
    expect(timing).toBe(`${hlsNode.url}/time`);
  } finally {
    await pub.stop();
    await hlsNode.close();
  }
}, 60_000);

it('answers a NUL byte or invalid text in a path or a body with 400, never 500 (found by the fuzzer)', async () => {
  const s = await createUserAndStream(node.url);
  const chat = await fetch(`${node.url}/api/streams/%00/chat`);
  expect(chat.status).toBe(400);
  expect(((await chat.json()) as { error: { code: string } }).error.code).toBe('invalid_params');
  // A title with a NUL passes the shape checks; PostgreSQL and PGlite refuse it as data (class 22).
  const res = await fetch(`${node.url}/api/streams/${s.id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` },
    body: JSON.stringify({ title: 'nul \u0000 inside' }),
  });
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
});
