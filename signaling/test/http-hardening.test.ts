// The HTTP edge against a browser-side attacker and a slow client: pages carry a CSP that runs only
// the app's own script and forbids framing, every response says nosniff and a referrer policy; a
// client that trickles its request headers (slowloris) is cut off at the headers deadline instead of
// holding a socket for ever, while a normal request on another connection is served meanwhile.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnAirNode } from '@onair/signaling';
import { HTTP_DEADLINES } from '../src/http/http-server.js';
import { startTestNode } from '../../test/support/onair-node.js';

let node: OnAirNode;
beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => {
  await node?.close();
});

describe('security headers', () => {
  it('a page forbids framing and foreign or inline script; every response says nosniff', async () => {
    const page = await fetch(`${node.url}/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-(inline|eval)/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');

    const json = await fetch(`${node.url}/api/streams`);
    expect(json.headers.get('x-content-type-options')).toBe('nosniff');
    expect(json.headers.get('content-security-policy')).toBeNull();
    const missing = await fetch(`${node.url}/api/nothing-here`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('slow clients', () => {
  it('a client that never finishes its headers is disconnected at the headers deadline; others are served', async () => {
    const { port } = new URL(node.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const started = Date.now();
    socket.write('GET /api/streams HTTP/1.1\r\nHost: onair.test\r\nX-Slow: ');
    const drip = setInterval(() => socket.write('a'), 500);
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    const closedAfter = await new Promise<number>((resolve) => {
      socket.once('close', () => resolve(Date.now() - started));
      socket.once('error', () => {});
    });
    clearInterval(drip);
    // Meanwhile (and after) a normal client is served.
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    expect(closedAfter).toBeGreaterThanOrEqual(HTTP_DEADLINES.headersMs - 500);
    expect(closedAfter).toBeLessThan(HTTP_DEADLINES.headersMs + 3 * HTTP_DEADLINES.checkEveryMs + 1000);
    expect(answer === '' || answer.startsWith('HTTP/1.1 408')).toBe(true);
  }, 30_000);
});
