import { afterEach, describe, expect, it, vi } from 'vitest';
import { api } from '../src/api.js';
import { OnAirError } from '../src/errors.js';
import { postOffer } from '../src/sdp-exchange.js';

const ANSWER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** Replaces fetch with `respond`; returns the calls it saw. */
function fakeFetch(respond: (call: Call) => Response): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    const call = {
      url,
      method: init.method ?? 'GET',
      headers: init.headers as Record<string, string>,
      body: init.body as string | undefined,
    };
    calls.push(call);
    return respond(call);
  });
  return calls;
}

afterEach(() => vi.unstubAllGlobals());

describe('the WHIP/WHEP SDP exchange', () => {
  it('posts the offer with the Bearer key and resolves Location against the endpoint, keeping the ETag', async () => {
    const calls = fakeFetch(
      () =>
        new Response(ANSWER, { status: 201, headers: { location: '../sessions/abc', etag: '"e1"', 'content-type': 'application/sdp' } }),
    );
    const { answer, session } = await postOffer('http://node.test/whip/s1', 'v=0 offer', 'sk_key');
    expect(answer).toBe(ANSWER);
    expect(session.url).toBe('http://node.test/sessions/abc');
    expect(session.etag).toBe('"e1"');
    expect(calls[0]).toMatchObject({ method: 'POST', body: 'v=0 offer' });
    expect(calls[0]?.headers).toMatchObject({ authorization: 'Bearer sk_key', 'content-type': 'application/sdp' });
  });

  it('turns the JSON error body into an OnAirError with its status and code', async () => {
    fakeFetch(() => Response.json({ error: { code: 'stream_offline', message: 'the stream is not live' } }, { status: 404 }));
    const err = await postOffer('http://node.test/whep/s1', 'v=0').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnAirError);
    expect(err).toMatchObject({ status: 404, code: 'stream_offline', message: 'the stream is not live' });
  });

  it('keeps the status when the error body is not JSON', async () => {
    fakeFetch(() => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    const err = await postOffer('http://node.test/whep/s1', 'v=0').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, code: 'http_502' });
  });

  it('reports an unreachable server as a network error with status 0', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('fetch failed');
    });
    const err = await postOffer('http://node.test/whep/s1', 'v=0').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, code: 'network_error' });
  });

  it('trickles with If-Match and ends the session with DELETE exactly once, a 404 counting as ended', async () => {
    const calls = fakeFetch((call) =>
      call.method === 'POST'
        ? new Response(ANSWER, { status: 201, headers: { location: '/whip/s1/sessions/abc', etag: '"e1"' } })
        : call.method === 'PATCH'
          ? new Response(null, { status: 204 })
          : new Response(null, { status: 404 }),
    );
    const { session } = await postOffer('http://node.test/whip/s1', 'v=0', 'sk_key');
    await session.patch('a=ice-ufrag:x\r\n');
    await session.delete();
    await session.delete();
    expect(calls.map((c) => c.method)).toEqual(['POST', 'PATCH', 'DELETE']);
    expect(calls[1]?.headers).toMatchObject({
      'content-type': 'application/trickle-ice-sdpfrag',
      'if-match': '"e1"',
      authorization: 'Bearer sk_key',
    });
    expect(calls[2]?.url).toBe('http://node.test/whip/s1/sessions/abc');
  });
});

describe('the API client', () => {
  it('sends the token and builds the directory query', async () => {
    const calls = fakeFetch(() => Response.json({ items: [], nextCursor: null }));
    const page = await api('http://node.test/', 'jwt').listStreams({ live: true, q: '', sort: 'viewers' });
    expect(page.items).toEqual([]);
    expect(calls[0]?.url).toBe('http://node.test/api/streams?live=true&sort=viewers');
    expect(calls[0]?.headers.authorization).toBe('Bearer jwt');
  });

  it('posts JSON and rejects with the server error code', async () => {
    const calls = fakeFetch(() => Response.json({ error: { code: 'username_taken', message: 'taken' } }, { status: 409 }));
    const err = await api('http://node.test')
      .register('ann', 'secret-pass')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 409, code: 'username_taken' });
    expect(JSON.parse(calls[0]?.body ?? '{}')).toEqual({ username: 'ann', password: 'secret-pass' });
  });
});
