// The web app as a returning streamer and their viewers use it, in headless Chromium against a real
// node: the account's streams and settings come from the server on any browser (no stream key in
// browser storage), chat settings survive a reload and a re-save, an unknown stream id gets a
// not-found page with no chat socket, unknown page paths get app pages, long unspaced text never
// widens a phone screen, the dashboard follows Save details and explains a key rotation while live,
// a timed-out viewer is told for how long, the chat counts characters, and axe-core finds no serious
// or critical violation on any page in light and dark mode at desktop and phone sizes.
// Screenshots of every page in both themes go to test-artifacts/screenshots/.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { OnAirNode } from '@onair/signaling';
import { launchBrowser } from '../support/browser.js';
import { startTestNode, waitFor } from '../support/onair-node.js';
import { openSdkPage, publishFakeCamera } from '../support/sdk-page.js';
import { ChannelClient } from '../support/channel-client.js';

const SHOTS = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const PASSWORD = 'correct horse battery';
const AXE_SOURCE = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let node: OnAirNode;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  node = await startTestNode();
  browser = await launchBrowser();
  await mkdir(SHOTS, { recursive: true });
});

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await browser?.close();
  await node?.close();
});

async function newPage(options: { viewport?: { width: number; height: number }; dark?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: options.viewport ?? DESKTOP, colorScheme: options.dark ? 'dark' : 'light' });
  contexts.push(context);
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept()); // confirm() of key rotation
  return page;
}

const uniqueName = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;

async function api<T>(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${node.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T };
}

async function register(username: string): Promise<{ token: string; user: { id: string } }> {
  return (await api<{ token: string; user: { id: string } }>('POST', '/api/auth/register', undefined, { username, password: PASSWORD }))
    .json;
}

async function signIn(page: Pick<Page, 'getByLabel' | 'getByRole'>, username: string, button: 'Sign up' | 'Sign in'): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: button, exact: true }).click();
}

/** Every value in the page's localStorage and sessionStorage, joined. */
const browserStorage = (page: Page) =>
  page.evaluate(() => [localStorage, sessionStorage].flatMap((s) => Object.keys(s).map((k) => `${k}=${s.getItem(k)}`)).join('\n'));

async function noSidewaysScroll(page: Page, what: string): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth, `${what}: no horizontal scrolling`).toBeLessThanOrEqual(innerWidth + 1);
}

describe('the web app for a returning streamer and their viewers', () => {
  it('a streamer signs in on a second browser and reaches their stream, its details and chat settings; no key is kept in browser storage; sign out everywhere ends both sessions', async () => {
    const username = uniqueName('returning');
    const first = await newPage();
    await first.goto(`${node.url}/dashboard`);
    await signIn(first, username, 'Sign up');
    await first.getByLabel('Title').fill('Lo-fi beats to return to');
    await first.getByLabel('Tags').fill('lofi, chill');
    await first.getByRole('button', { name: 'Create stream' }).click();
    await first.getByRole('heading', { name: 'Lo-fi beats to return to' }).waitFor();
    // The key is shown once on this page, and lives in its memory only.
    const key = await first.locator('input[name="stream-key"]').inputValue();
    expect(key.length).toBeGreaterThan(20);
    expect(await browserStorage(first)).not.toContain(key);

    await first.getByLabel('Slow mode').selectOption('10');
    await first.getByLabel('Blocked terms').fill('spoiler, giveaway');
    await first.getByRole('button', { name: 'Save chat settings' }).click();
    await first.getByText('Saved: slow mode 10 s, 2 blocked terms.').waitFor();

    const second = await newPage();
    await second.goto(`${node.url}/dashboard`);
    await signIn(second.locator('main'), username, 'Sign in');
    await second.getByRole('heading', { name: 'Lo-fi beats to return to' }).waitFor();
    expect(await second.getByLabel('Stream title').inputValue()).toBe('Lo-fi beats to return to');
    expect(await second.getByLabel('Stream tags').inputValue()).toBe('lofi, chill');
    await expect.poll(() => second.getByLabel('Slow mode').inputValue()).toBe('10');
    expect(await second.getByLabel('Blocked terms').inputValue()).toBe('spoiler, giveaway');
    expect(await browserStorage(second)).not.toContain(key);
    // A key can be had on demand (a new one: the old one stops working).
    expect(await second.locator('input[name="stream-key"]').inputValue()).toBe('');
    await second.getByRole('button', { name: 'Get a new key' }).click();
    await expect.poll(() => second.locator('input[name="stream-key"]').inputValue()).toMatch(/.{20,}/);
    const newKey = await second.locator('input[name="stream-key"]').inputValue();
    expect(newKey).not.toBe(key);
    expect(await browserStorage(second)).not.toContain(newKey);

    // Settings survive a reload and a re-save.
    await second.reload();
    await expect.poll(() => second.getByLabel('Slow mode').inputValue()).toBe('10');
    expect(await second.getByLabel('Blocked terms').inputValue()).toBe('spoiler, giveaway');
    await second.getByRole('button', { name: 'Save chat settings' }).click();
    await second.getByText('Saved: slow mode 10 s, 2 blocked terms.').waitFor();
    const token = await second.evaluate(() => JSON.parse(localStorage.getItem('onair.auth') ?? '{}').token as string);
    const { json: mine } = await api<{ items: Array<{ id: string; title: string; tags: string[] }> }>('GET', '/api/me/streams', token);
    expect(mine.items.map((s) => s.title)).toEqual(['Lo-fi beats to return to']);
    const settings = await api<{ slowModeSeconds: number; blockedTerms: string[] }>(
      'GET',
      `/api/streams/${mine.items[0]!.id}/chat-settings`,
      token,
    );
    expect(settings.json).toEqual({ slowModeSeconds: 10, blockedTerms: ['spoiler', 'giveaway'] });

    // "Sign out everywhere" on the second browser ends the first browser's session too.
    const firstToken = await first.evaluate(() => JSON.parse(localStorage.getItem('onair.auth') ?? '{}').token as string);
    await second.getByRole('button', { name: 'Sign out everywhere' }).click();
    await second.locator('.nav-sign-in').waitFor();
    for (const t of [token, firstToken]) {
      const { status, json } = await api<{ error: { code: string } }>('GET', '/api/me', t);
      expect(status).toBe(401);
      expect(json.error.code).toBe('session_revoked');
    }
  }, 90_000);

  it('an unknown stream id gets a not-found page and opens no chat socket; unknown pages and /dashboard/ get app pages', async () => {
    const page = await newPage();
    const sockets: string[] = [];
    const consoleErrors: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    await page.goto(`${node.url}/watch/nosuchstream1`);
    await page.getByRole('heading', { name: 'Stream not found' }).waitFor();
    await page.waitForTimeout(3000);
    expect(sockets).toEqual([]);
    expect(consoleErrors.filter((e) => !e.includes('404'))).toEqual([]);

    const channels = await fetch(`${node.url}/channels/foo`);
    expect([channels.status, channels.headers.get('content-type')]).toEqual([404, expect.stringContaining('text/html')]);
    const dashboardSlash = await fetch(`${node.url}/dashboard/`);
    expect([dashboardSlash.status, dashboardSlash.headers.get('content-type')]).toEqual([200, expect.stringContaining('text/html')]);
    const api404 = await fetch(`${node.url}/api/nothing-here`);
    expect([api404.status, ((await api404.json()) as { error: { code: string } }).error.code]).toEqual([404, 'not_found']);

    await page.goto(`${node.url}/channels/foo`);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    await page.goto(`${node.url}/dashboard/`);
    await page.getByRole('button', { name: 'Sign up' }).waitFor();
  }, 60_000);

  it('on a phone, a title and a chat message without spaces never make the page scroll sideways', async () => {
    const owner = await register(uniqueName('wide'));
    const title = 'W'.repeat(140); // the longest title the API takes
    const { status, json: stream } = await api<{ id: string }>('POST', '/api/streams', owner.token, {
      title,
      tags: ['unspaced'],
      category: 'C'.repeat(50),
    });
    expect(status).toBe(201);
    const viewer = await register(uniqueName('wideviewer'));
    const page = await newPage({ viewport: PHONE });
    await page.goto(node.url);
    await page.evaluate((auth) => localStorage.setItem('onair.auth', JSON.stringify(auth)), viewer);
    await page.goto(`${node.url}/watch/${stream.id}`);
    await page.getByRole('heading', { name: title }).waitFor();
    await noSidewaysScroll(page, 'watch page, long title');
    const message = 'M'.repeat(300);
    await page.getByRole('textbox', { name: 'Chat message' }).fill(message);
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('.chat-message .text', { hasText: message }).waitFor();
    await noSidewaysScroll(page, 'watch page, long chat message');
    await page.screenshot({ path: `${SHOTS}watch-long-title-light-phone.png`, fullPage: true });

    const dashboard = await newPage({ viewport: PHONE });
    await dashboard.goto(node.url);
    await dashboard.evaluate((auth) => localStorage.setItem('onair.auth', JSON.stringify(auth)), owner);
    await dashboard.goto(`${node.url}/dashboard`);
    await dashboard.getByRole('heading', { name: title }).waitFor();
    await noSidewaysScroll(dashboard, 'dashboard, long title');
  }, 60_000);

  it('the dashboard follows Save details, explains a key rotation while live, and the chat counts characters and says how long a timeout lasts', async () => {
    const username = uniqueName('showrunner');
    const page = await newPage();
    await page.goto(`${node.url}/dashboard`);
    await signIn(page, username, 'Sign up');
    await page.getByLabel('Title').fill('Before the rename');
    await page.getByRole('button', { name: 'Create stream' }).click();
    await page.getByRole('heading', { name: 'Before the rename' }).waitFor();
    await page.getByLabel('Stream title').fill('After the rename');
    await page.getByRole('button', { name: 'Save details' }).click();
    await page.getByRole('heading', { name: 'After the rename', level: 2 }).waitFor();
    expect(await page.getByLabel('Your streams').locator('option').first().textContent()).toBe('After the rename');

    await page.getByRole('button', { name: 'Go live' }).click();
    await page.locator('.broadcast .status', { hasText: 'Live' }).waitFor({ timeout: 30_000 });
    await page.locator('.uptime', { hasText: 'Live for' }).waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Rotate stream key' }).click();
    await page.getByText('The stream key was rotated, which ended this broadcast').waitFor();

    // A viewer is timed out from the dashboard's chat, and told for how long.
    const token = await page.evaluate(() => JSON.parse(localStorage.getItem('onair.auth') ?? '{}').token as string);
    const { json: mine } = await api<{ items: Array<{ id: string }> }>('GET', '/api/me/streams', token);
    const streamId = mine.items[0]!.id;
    // The viewer signs up from the watch page and stays on the stream.
    const viewer = await newPage();
    await viewer.goto(`${node.url}/watch/${streamId}`);
    await viewer.getByRole('button', { name: 'Sign in to chat' }).click();
    await signIn(viewer.getByRole('dialog'), uniqueName('chatty'), 'Sign up');
    await viewer.getByRole('textbox', { name: 'Chat message' }).waitFor();
    expect(new URL(viewer.url()).pathname).toBe(`/watch/${streamId}`);
    // The broadcast the rotation ended: the watch page says when the streamer was last live.
    await viewer.getByText(/is offline\. Last live (just now|1 min ago)\./).waitFor({ timeout: 15_000 });
    const input = viewer.getByRole('textbox', { name: 'Chat message' });
    await input.fill('x'.repeat(501));
    await viewer.getByText('501/500: 1 too many').waitFor();
    expect(await viewer.getByRole('button', { name: 'Send', exact: true }).isDisabled()).toBe(true);
    expect(await input.inputValue()).toHaveLength(501); // never cut silently
    await input.fill('hello from the viewer');
    await viewer.getByText('21/500').waitFor();
    await viewer.getByRole('button', { name: 'Send', exact: true }).click();

    await page.locator('.chat-message', { hasText: 'hello from the viewer' }).waitFor();
    await page.getByRole('button', { name: /^Timeout 10 min \(/ }).click();
    await page.locator('.activity', { hasText: 'was timed out' }).waitFor();
    await page.getByRole('list', { name: 'Banned and timed out' }).getByText('timed out').waitFor();

    await viewer.getByText(/You are timed out for (9|10) min/).waitFor();
    await input.fill('am I still here?');
    await viewer.getByRole('button', { name: 'Send', exact: true }).click();
    await viewer.getByText(/You are timed out: you can chat again in (9|10) min/).waitFor();

    await page.getByRole('button', { name: /^Unban / }).click();
    await page.getByRole('list', { name: 'Banned and timed out' }).getByText('Nobody is banned or timed out.').waitFor();

    // A tip stands out in the chat of everyone (not only as an overlay) and in the activity feed.
    const viewerToken = await viewer.evaluate(() => JSON.parse(localStorage.getItem('onair.auth') ?? '{}').token as string);
    expect((await api('POST', '/api/wallet/topups', viewerToken, { amount: 2000 })).status).toBeLessThan(300);
    const tip = await fetch(`${node.url}/api/streams/${streamId}/tips`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${viewerToken}`,
        'content-type': 'application/json',
        'idempotency-key': randomBytes(8).toString('hex'),
      },
      body: JSON.stringify({ amount: 500, message: 'for the show' }),
    });
    expect(tip.status).toBe(201);
    for (const p of [viewer, page])
      await p.locator('.chat-tip', { hasText: '$5.00' }).filter({ hasText: 'for the show' }).waitFor({ timeout: 15_000 });
    await page.locator('.activity', { hasText: 'tipped $5.00' }).waitFor();
  }, 120_000);

  it('the chat follows new messages, and says "More messages below" to a reader who scrolled up', async () => {
    const owner = await register(uniqueName('busy'));
    const { json: stream } = await api<{ id: string }>('POST', '/api/streams', owner.token, { title: 'A busy chat' });
    const page = await newPage({ viewport: PHONE });
    await page.goto(`${node.url}/watch/${stream.id}`);
    await page.getByRole('button', { name: 'Sign in to chat' }).waitFor();
    const log = page.getByRole('log', { name: 'Chat messages' });
    const followed = () =>
      log.evaluate((el) => el.scrollTop + el.clientHeight >= el.scrollHeight - 40 && el.scrollHeight > el.clientHeight);
    const chatters = await Promise.all(
      [1, 2, 3, 4, 5].map(async (n) => ChannelClient.connect(node.url, stream.id, (await register(uniqueName(`chatter${n}`))).token)),
    );
    try {
      const line = (i: number) => `message ${i}: ${'a long line that wraps on a phone screen, '.repeat(3)}`;
      for (let i = 0; i < 20; i++) chatters[i % chatters.length]!.chat(line(i));
      await page.locator('.chat-message', { hasText: 'message 19:' }).waitFor();
      await expect.poll(followed).toBe(true);
      expect(await page.getByRole('button', { name: 'More messages below' }).isVisible()).toBe(false);

      await log.evaluate((el) => (el.scrollTop = 0)); // the reader scrolls up to read
      chatters[0]!.chat('one more while you read');
      await page.locator('.chat-message', { hasText: 'one more while you read' }).waitFor();
      const below = page.getByRole('button', { name: 'More messages below' });
      await below.waitFor();
      expect(await log.evaluate((el) => el.scrollTop)).toBeLessThan(50); // not yanked down
      await below.click();
      await expect.poll(followed).toBe(true);
      await below.waitFor({ state: 'hidden' });
    } finally {
      await Promise.all(chatters.map((c) => c.close()));
    }
  }, 60_000);

  it('keyboard only: sign up, create a stream, save its chat settings, and chat from the watch page', async () => {
    const page = await newPage();
    await page.goto(`${node.url}/dashboard`);
    await page.getByRole('button', { name: 'Sign up' }).waitFor();
    /** Presses Tab until the focused element matches `selector` (at most 40 times). */
    const tabTo = async (selector: string, text?: string) => {
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        const reached = await page.evaluate(
          ([sel, t]) => {
            const el = document.activeElement;
            return !!el?.matches(sel!) && (t === undefined || (el.textContent ?? '').includes(t));
          },
          [selector, text] as const,
        );
        if (reached) return;
      }
      expect.fail(`Tab never reached ${selector} ${text ?? ''}`);
    };
    await tabTo('input[name="username"]');
    await page.keyboard.type(uniqueName('keys'));
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter'); // the form's first submit button: Sign up
    await page.getByLabel('Title').waitFor();
    await tabTo('input[name="title"]');
    await page.keyboard.type('Typed without a mouse');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Typed without a mouse' }).waitFor();
    await page.locator('button:not([disabled])', { hasText: 'Save chat settings' }).waitFor();
    await tabTo('select[name="slow-mode"]');
    await page.keyboard.press('ArrowDown'); // 5 seconds
    await tabTo('button[type="submit"]', 'Save chat settings');
    await page.keyboard.press('Enter');
    await page.getByText('Saved: slow mode 5 s, 0 blocked terms.').waitFor();

    await tabTo('a', 'Open the watch page');
    const watchUrl = await page.evaluate(() => (document.activeElement as HTMLAnchorElement).href);
    await page.goto(watchUrl);
    await page.getByText('Slow mode is on: one message every 5 s.').waitFor();
    await tabTo('input[name="chat"]');
    await page.keyboard.type('hello by keyboard');
    await page.keyboard.press('Enter');
    await page.locator('.chat-message', { hasText: 'hello by keyboard' }).waitFor();
  }, 60_000);

  it('axe-core finds no serious or critical violation on any page, light and dark, desktop and phone', async () => {
    const owner = await register(uniqueName('axeowner'));
    const { json: stream } = await api<{ id: string }>('POST', '/api/streams', owner.token, {
      title: 'Accessible stream',
      tags: ['a11y'],
      category: 'Talk',
      language: 'fr',
    });
    await api('PATCH', `/api/streams/${stream.id}/chat-settings`, owner.token, { slowModeSeconds: 5 });
    // A live stream too, published from the fake camera: the directory's cards and the playing player.
    const liveOwner = await register(uniqueName('axelive'));
    const { json: live } = await api<{ id: string; streamKey: string }>('POST', '/api/streams', liveOwner.token, {
      title: 'Live and accessible',
      tags: ['axe'],
      category: 'Music',
      language: 'de',
    });
    const publisher = await openSdkPage(browser, node.url, 'publisher');
    contexts.push(publisher.context);
    await publishFakeCamera(publisher.page, `${node.url}/whip/${live.id}`, live.streamKey);
    await waitFor('the stream to be live', async () => (await api<{ live: boolean }>('GET', `/api/streams/${live.id}`)).json.live, 20_000);
    const pages: Array<{ name: string; path: string; signedIn: boolean; ready: (p: Page) => Promise<unknown> }> = [
      { name: 'directory', path: '/', signedIn: false, ready: (p) => p.getByRole('link', { name: /Live and accessible/ }).waitFor() },
      {
        name: 'watch-live',
        path: `/watch/${live.id}`,
        signedIn: false,
        ready: (p) =>
          p
            .getByText('LIVE', { exact: true })
            .waitFor({ timeout: 20_000 })
            .then(() => p.getByRole('button', { name: /Click to unmute/ }).waitFor()),
      },
      {
        name: 'watch-offline',
        path: `/watch/${stream.id}`,
        signedIn: false,
        ready: (p) =>
          p
            .locator('.player-state', { hasText: 'offline' })
            .waitFor()
            .then(() => p.getByText('Slow mode is on').waitFor()),
      },
      {
        name: 'watch-not-found',
        path: '/watch/nosuchstream2',
        signedIn: false,
        ready: (p) => p.getByRole('heading', { name: 'Stream not found' }).waitFor(),
      },
      {
        name: 'not-found',
        path: '/channels/foo',
        signedIn: false,
        ready: (p) => p.getByRole('heading', { name: 'Page not found' }).waitFor(),
      },
      { name: 'dashboard-signin', path: '/dashboard', signedIn: false, ready: (p) => p.getByRole('button', { name: 'Sign up' }).waitFor() },
      {
        name: 'dashboard-stream',
        path: '/dashboard',
        signedIn: true,
        ready: (p) =>
          p
            .getByRole('heading', { name: 'Accessible stream' })
            .waitFor()
            .then(() => p.locator('button:not([disabled])', { hasText: 'Save chat settings' }).waitFor()),
      },
      {
        name: 'watch-signed-in',
        path: `/watch/${stream.id}`,
        signedIn: true,
        ready: (p) =>
          p
            .getByRole('textbox', { name: 'Chat message' })
            .waitFor()
            .then(() => p.getByText('Slow mode is on: one message every 5 s.').waitFor()),
      },
    ];
    const axe = await AXE_SOURCE;
    const failures: string[] = [];
    for (const dark of [false, true]) {
      for (const [size, viewport] of [
        ['desktop', DESKTOP],
        ['phone', PHONE],
      ] as const) {
        const page = await newPage({ viewport, dark });
        for (const p of pages) {
          await page.goto(node.url);
          await page.evaluate(
            (auth) => (auth ? localStorage.setItem('onair.auth', JSON.stringify(auth)) : localStorage.clear()),
            p.signedIn ? owner : null,
          );
          await page.goto(`${node.url}${p.path}`);
          await p.ready(page);
          await page.waitForTimeout(300);
          const name = `${p.name}-${dark ? 'dark' : 'light'}-${size}`;
          await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
          await noSidewaysScroll(page, name);
          // Evaluated over the DevTools protocol: the page's CSP (no inline script) rightly refuses a script tag.
          await page.evaluate(axe);
          const violations = await page.evaluate(async () => {
            const w = window as unknown as {
              axe: {
                run(
                  ctx: Document,
                  o: object,
                ): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }>;
              };
            };
            const result = await w.axe.run(document, { resultTypes: ['violations'] });
            return result.violations
              .filter((v) => v.impact === 'serious' || v.impact === 'critical')
              .map(
                (v) =>
                  `${v.id} (${v.impact}): ${v.nodes
                    .map((n) => n.target.join(' '))
                    .slice(0, 5)
                    .join(', ')}`,
              );
          });
          failures.push(...violations.map((v) => `${name}: ${v}`));
        }
        await page.context().close();
      }
    }
    expect(failures).toEqual([]);
  }, 240_000);
});
