// Scale-out inside one node: with two mediasoup workers and a per-router viewer limit of one, the
// second viewer of a stream lands on a router on the other worker (the stream piped there with
// pipeToRouter) and plays in Chromium with its own payload types; when it leaves, that router is
// closed again. A node at its viewer capacity answers 503 with Retry-After.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import type { OnAirNode } from '@onair/signaling';
import { launchBrowser } from '../support/browser.js';
import { createUserAndStream, startTestNode, waitFor } from '../support/onair-node.js';
import { openSdkPage, playWithReconnect, waitForDecodedFrames } from '../support/sdk-page.js';
import { publish, type Publisher } from '../support/werift-peers.js';

describe('pipe to another worker when a router is full', () => {
  let node: OnAirNode;
  let browser: Browser;
  let publisher: Publisher | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    node = await startTestNode({ MEDIASOUP_WORKERS: '2', MEDIA_ROUTER_MAX_VIEWERS: '1', MEDIA_MAX_VIEWERS: '2' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await publisher?.stop();
    await node?.close();
  });

  it('places the second viewer on a router of the other worker, both play, and the extra router goes when it leaves', async () => {
    const s = await createUserAndStream(node.url, 'piped');
    publisher = await publish(node.url, s.id, s.streamKey, 'h264');
    await waitFor('live', () => node.media.isLive(s.id), 10_000);

    const pages = [];
    for (const label of ['viewer 1', 'viewer 2']) {
      const { context, page } = await openSdkPage(browser, node.url, label);
      contexts.push(context);
      await playWithReconnect(page, `${node.url}/whep/${s.id}`);
      pages.push(page);
    }
    for (const page of pages) await waitForDecodedFrames(page, 15_000);

    const routers = node.media.inspect(s.id)!.routers;
    expect(routers.map((r) => r.viewers)).toEqual([1, 1]);
    expect(new Set(routers.map((r) => r.workerPid)).size).toBe(2);
    expect(new Set(node.media.pool.all.map((w) => w.pid))).toEqual(new Set(routers.map((r) => r.workerPid)));

    // The node is at MEDIA_MAX_VIEWERS: a third viewer is told to come back later.
    const full = await fetch(`${node.url}/whep/${s.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: 'v=0\r\n',
    });
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('5');
    expect(((await full.json()) as { error: { code: string } }).error.code).toBe('node_full');

    await pages[1]!.evaluate(() => window.testViewer!.stop());
    await waitFor('the extra router closed', () => node.media.inspect(s.id)!.routers.length === 1, 5000);
    const dumps = await node.media.workerDumps();
    expect(dumps.reduce((n, d) => n + d.routerIds.length, 0)).toBe(1);
    await waitForDecodedFrames(pages[0]!, 5000); // the first viewer is unaffected
  }, 60_000);
});
