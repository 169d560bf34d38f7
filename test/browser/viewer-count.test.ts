// Numbers people can trust: with the streamer's dashboard open, viewers opening and closing the watch
// page in Chromium move the count exactly 0 -> 1 -> 2 -> 1 — on the dashboard, on the watch page and
// in the directory alike (a watch page's player and chat socket are one viewer; the dashboard none).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { OnAirNode } from '@onair/signaling';
import { launchBrowser } from '../support/browser.js';
import { startTestNode, waitFor } from '../support/onair-node.js';
import { publish, type Publisher } from '../support/werift-peers.js';

const PASSWORD = 'correct horse battery';
let node: OnAirNode;
let browser: Browser;
let publisher: Publisher | undefined;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  node = await startTestNode();
  browser = await launchBrowser();
});

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await browser?.close();
  await publisher?.stop();
  await node?.close();
});

async function openPage(url: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(url);
  return { context, page };
}

async function directoryCount(id: string): Promise<number> {
  return ((await (await fetch(`${node.url}/api/streams/${id}`)).json()) as { viewerCount: number }).viewerCount;
}

it('counts 0 -> 1 -> 2 -> 1 as viewers open and close the watch page while the dashboard is open', async () => {
  const username = `streamer_${randomBytes(4).toString('hex')}`;
  const reg = await fetch(`${node.url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  const { token } = (await reg.json()) as { token: string };
  const created = await fetch(`${node.url}/api/streams`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ title: 'counted once', tags: ['test'], category: 'Testing', language: 'en' }),
  });
  const stream = (await created.json()) as { id: string; streamKey: string };
  publisher = await publish(node.url, stream.id, stream.streamKey, 'vp8');
  await waitFor('live', () => node.media.isLive(stream.id), 20_000);

  // The streamer's dashboard, signed in: its chat socket and stats are open, and it is no viewer.
  const { page: dashboard } = await openPage(`${node.url}/dashboard`);
  await dashboard.getByLabel('Username').fill(username);
  await dashboard.getByLabel('Password').fill(PASSWORD);
  await dashboard.getByRole('main').getByRole('button', { name: 'Sign in', exact: true }).click();
  await dashboard.getByRole('heading', { name: 'counted once' }).waitFor();
  const dashboardViewers = dashboard.locator('[data-stat="viewers"]');

  const everywhere = async (n: number, watchPages: Page[]) => {
    await waitFor(`${n} in the directory`, async () => (await directoryCount(stream.id)) === n, 15_000);
    await waitFor(`${n} on the dashboard`, async () => (await dashboardViewers.textContent())?.trim() === String(n), 15_000);
    for (const p of watchPages) await p.getByText(`${n} watching`).waitFor({ timeout: 15_000 });
  };
  await new Promise((r) => setTimeout(r, 4500)); // two counting intervals with the dashboard open
  await everywhere(0, []);

  const first = await openPage(`${node.url}/watch/${stream.id}`);
  await everywhere(1, [first.page]);
  const second = await openPage(`${node.url}/watch/${stream.id}`);
  await everywhere(2, [first.page, second.page]);
  await second.page.close(); // the viewer closes the tab
  await everywhere(1, [first.page]);
  expect(await directoryCount(stream.id)).toBe(1);
}, 120_000);
