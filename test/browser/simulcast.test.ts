// Simulcast from a real browser: Chromium publishes three rid layers over WHIP (the client SDK's
// simulcast option), the SFU ingests them as one simulcast producer, and a WHEP viewer gets a
// simulcast consumer whose layer mediasoup picks from the viewer's bandwidth estimate.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { OnAirNode } from '@onair/signaling';
import { launchBrowser } from '../support/browser.js';
import { createUserAndStream, startTestNode, waitFor } from '../support/onair-node.js';
import { watch } from '../support/werift-peers.js';

let node: OnAirNode;
let browser: Browser;
beforeAll(async () => {
  node = await startTestNode();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await node?.close();
});

it('ingests three simulcast layers from Chromium and serves a simulcast consumer', async () => {
  const s = await createUserAndStream(node.url, 'simulcast');
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${node.url}/healthz`);
  // A 1280x720 canvas so Chromium keeps all three layers (it drops layers for small sources).
  const status = await page.evaluate(
    async ({ url, key }) => {
      const canvas = Object.assign(document.createElement('canvas'), { width: 1280, height: 720 });
      const ctx = canvas.getContext('2d')!;
      setInterval(() => {
        ctx.fillStyle = `hsl(${(Date.now() / 20) % 360} 80% 50%)`;
        ctx.fillRect(0, 0, 1280, 720);
        ctx.fillStyle = '#fff';
        ctx.fillText(String(Date.now()), 40 + ((Date.now() / 10) % 1000), 360);
      }, 33);
      const track = canvas.captureStream(30).getVideoTracks()[0]!;
      const pc = new RTCPeerConnection();
      pc.addTransceiver(track, {
        direction: 'sendonly',
        sendEncodings: [
          { rid: 'h', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
          { rid: 'm', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
          { rid: 'l', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
        ],
      });
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((r) =>
        pc.iceGatheringState === 'complete' ? r(0) : (pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(0)),
      );
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
        body: pc.localDescription!.sdp,
      });
      const answer = await res.text();
      if (res.status !== 201) return `${res.status} ${answer}`;
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      (window as unknown as { pc: RTCPeerConnection }).pc = pc;
      return answer.includes('a=simulcast:recv h;m;l') ? 'ok' : `answer without simulcast: ${answer}`;
    },
    { url: `${node.url}/whip/${s.id}`, key: s.streamKey },
  );
  expect(status).toBe('ok');
  await waitFor('simulcast stream live', () => node.media.isLive(s.id), 15_000);

  const producer = node.media.inspect(s.id)!.producers.find((p) => p.kind === 'video')!;
  expect(producer).toMatchObject({ type: 'simulcast', layers: ['l', 'm', 'h'] });

  const viewer = await watch(node.url, s.id);
  await viewer.connected;
  await waitFor('video at the viewer', () => viewer.received.video > 50, 10_000);
  const consumer = node.media.inspect(s.id)!.viewers[0]!.consumers.find((c) => c.kind === 'video')!;
  expect(consumer.type).toBe('simulcast');
  expect(consumer.paused).toBe(false);
  await waitFor(
    'a layer selected for the viewer',
    () => node.media.inspect(s.id)!.viewers[0]!.consumers.some((c) => c.currentLayers !== undefined),
    10_000,
  );
  await viewer.stop();
});
