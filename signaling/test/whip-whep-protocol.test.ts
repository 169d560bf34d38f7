// WHIP (RFC 9725) and WHEP over raw HTTP against a real node with real mediasoup workers: every
// status code the foundation issue lists, with offers made by a real WebRTC stack (werift).
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnAirNode } from '@onair/signaling';
import { createUserAndStream, startTestNode, waitFor, type TestStream } from '../../test/support/onair-node.js';
import { makeOffer, publish, type Publisher } from '../../test/support/werift-peers.js';

let node: OnAirNode;
let offer: string;
let viewerOffer: string;

beforeAll(async () => {
  node = await startTestNode({ PUBLISHER_TIMEOUT_MS: '2500' });
  const o = await makeOffer('sendonly', 'vp8');
  offer = o.sdp;
  await o.pc.close();
  const v = await makeOffer('recvonly', 'vp8');
  viewerOffer = v.sdp;
  await v.pc.close();
});
afterAll(async () => node?.close());

const whip = (s: TestStream, init: { key?: string | null; type?: string | null; body?: string } = {}) => {
  const headers: Record<string, string> = {};
  if (init.type !== null) headers['content-type'] = init.type ?? 'application/sdp';
  if (init.key !== null) headers.authorization = `Bearer ${init.key ?? s.streamKey}`;
  return fetch(`${node.url}/whip/${s.id}`, { method: 'POST', headers, body: init.body ?? offer });
};
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error.code;
const patch = (url: string, body: string, ifMatch?: string, type = 'application/trickle-ice-sdpfrag') =>
  fetch(url, { method: 'PATCH', headers: { 'content-type': type, ...(ifMatch ? { 'if-match': ifMatch } : {}) }, body });

describe('WHIP ingest', () => {
  it('answers OPTIONS with Accept-Post and CORS headers', async () => {
    const s = await createUserAndStream(node.url);
    const res = await fetch(`${node.url}/whip/${s.id}`, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('accept-post')).toBe('application/sdp');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toContain('Location');
  });

  it('creates a session: 201 with an SDP answer, Location and ETag', async () => {
    const s = await createUserAndStream(node.url);
    const res = await whip(s);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/sdp');
    const location = res.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^/whip/${s.id}/[\\w-]+$`));
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]+"$/);
    const answer = await res.text();
    expect(answer).toContain('a=ice-lite');
    expect(answer).toMatch(/a=fingerprint:sha-256 [0-9A-F:]+/);
    expect(answer).toContain('a=setup:passive');
    expect(answer).toMatch(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/);
    expect(answer).toContain('a=recvonly');
    expect(answer).toMatch(/a=rtpmap:\d+ VP8\/90000/);
    expect(answer).toMatch(/a=rtpmap:\d+ opus\/48000\/2/);
    expect((await fetch(node.url + location, { method: 'DELETE' })).status).toBe(200);
  });

  it('refuses a missing or wrong stream key with 401', async () => {
    const s = await createUserAndStream(node.url);
    const none = await whip(s, { key: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect(await errorCode(none)).toBe('invalid_stream_key');
    const wrong = await whip(s, { key: 'sk_not-the-key' });
    expect(wrong.status).toBe(401);
    expect(await errorCode(wrong)).toBe('invalid_stream_key');
  });

  it('refuses the old key after rotation', async () => {
    const s = await createUserAndStream(node.url);
    const rot = await fetch(`${node.url}/api/streams/${s.id}/key/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}` },
    });
    const { streamKey } = (await rot.json()) as { streamKey: string };
    expect((await whip(s)).status).toBe(401);
    const res = await whip(s, { key: streamKey });
    expect(res.status).toBe(201);
    await fetch(node.url + res.headers.get('location'), { method: 'DELETE' });
  });

  it('answers 404 for an unknown stream', async () => {
    const res = await fetch(`${node.url}/whip/nosuchstream`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: 'Bearer x' },
      body: offer,
    });
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe('stream_not_found');
  });

  it('answers 415 for a missing or wrong content type', async () => {
    const s = await createUserAndStream(node.url);
    const missing = await whip(s, { type: null });
    expect(missing.status).toBe(415);
    const wrong = await whip(s, { type: 'text/plain' });
    expect(wrong.status).toBe(415);
    expect(await errorCode(wrong)).toBe('unsupported_media_type');
  });

  it('answers 400 for malformed SDP, with a message', async () => {
    const s = await createUserAndStream(node.url);
    for (const body of [
      '',
      'hello world',
      'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n',
      offer.replace(/a=fingerprint:[^\r\n]+\r\n/g, ''),
    ]) {
      const res = await whip(s, { body });
      expect(res.status, body.slice(0, 20)).toBe(400);
      const err = ((await res.json()) as { error: { code: string; message: string } }).error;
      expect(err.code).toBe('bad_sdp');
      expect(err.message.length).toBeGreaterThan(10);
    }
  });

  it('answers 422 for an offer with no codec the SFU can take', async () => {
    const s = await createUserAndStream(node.url);
    const h265 = offer.replace(/VP8\/90000/g, 'H265/90000');
    const res = await whip(s, { body: h265 });
    expect(res.status).toBe(422);
    const err = ((await res.json()) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe('unsupported_sdp');
    expect(err.message).toContain('H265');
  });

  it('answers 409 while the stream is published from another session', async () => {
    const s = await createUserAndStream(node.url);
    const first = await whip(s);
    expect(first.status).toBe(201);
    const second = await whip(s);
    expect(second.status).toBe(409);
    expect(await errorCode(second)).toBe('stream_already_live');
    await fetch(node.url + first.headers.get('location'), { method: 'DELETE' });
    const third = await whip(s);
    expect(third.status).toBe(201);
    await fetch(node.url + third.headers.get('location'), { method: 'DELETE' });
  });

  it('handles PATCH: trickle 204, stale ETag 412, wrong type 415, ICE restart 200 with a new ETag', async () => {
    const s = await createUserAndStream(node.url);
    const res = await whip(s);
    const url = node.url + res.headers.get('location');
    const etag = res.headers.get('etag')!;
    const ufrag = /a=ice-ufrag:(\S+)/.exec(offer)![1];
    const cand = `a=ice-ufrag:${ufrag}\r\na=ice-pwd:x\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9999 typ host\r\n`;
    expect((await patch(url, cand, etag)).status).toBe(204);
    expect((await patch(url, cand, '"stale"')).status).toBe(412);
    expect((await patch(url, cand, etag, 'application/sdp')).status).toBe(415);
    const restart = await patch(url, 'a=ice-ufrag:newufrag\r\na=ice-pwd:newpasswordnewpasswordnew\r\n', '*');
    expect(restart.status).toBe(200);
    expect(restart.headers.get('content-type')).toBe('application/trickle-ice-sdpfrag');
    const newEtag = restart.headers.get('etag')!;
    expect(newEtag).not.toBe(etag);
    const frag = await restart.text();
    expect(frag).toMatch(/a=ice-ufrag:\S+/);
    expect(frag).toContain('a=candidate:');
    expect((await patch(url, cand, etag)).status).toBe(412); // the old ETag is stale now
    await fetch(url, { method: 'DELETE' });
  });

  it('ends a session with DELETE; a second DELETE is 404', async () => {
    const s = await createUserAndStream(node.url);
    const res = await whip(s);
    const url = node.url + res.headers.get('location');
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(200);
    const again = await fetch(url, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await errorCode(again)).toBe('session_not_found');
    expect((await patch(url, 'a=ice-ufrag:x\r\n')).status).toBe(404);
  });

  it('advertises configured STUN/TURN servers in Link headers', async () => {
    const other = await startTestNode({
      ICE_SERVERS: JSON.stringify([
        { urls: 'stun:stun.example.net' },
        { urls: ['turn:turn.example.net?transport=udp'], username: 'u', credential: 'p' },
      ]),
    });
    try {
      const s = await createUserAndStream(other.url);
      const opts = await fetch(`${other.url}/whip/${s.id}`, { method: 'OPTIONS' });
      expect(opts.headers.get('link')).toContain('<stun:stun.example.net>; rel="ice-server"');
      const res = await fetch(`${other.url}/whip/${s.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${s.streamKey}` },
        body: offer,
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('link')).toContain(
        '<turn:turn.example.net?transport=udp>; rel="ice-server"; username="u"; credential="p"; credential-type="password"',
      );
      await fetch(other.url + res.headers.get('location'), { method: 'DELETE' });
    } finally {
      await other.close();
    }
  });

  it('mints short-lived TURN credentials per request with TURN_SECRET (TURN REST API, as coturn checks them)', async () => {
    const secret = 'turn-shared-secret-0123456789';
    const other = await startTestNode({
      TURN_URLS: 'turn:turn.example.net:3478?transport=udp',
      TURN_SECRET: secret,
      TURN_CREDENTIAL_TTL_SECONDS: '600',
    });
    try {
      const s = await createUserAndStream(other.url);
      const link = (await fetch(`${other.url}/whep/${s.id}`, { method: 'OPTIONS' })).headers.get('link') ?? '';
      const m = /<turn:turn\.example\.net:3478\?transport=udp>; rel="ice-server"; username="(\d+):onair"; credential="([^"]+)"/.exec(link);
      expect(m, link).not.toBeNull();
      const expiry = Number(m![1]);
      const now = Date.now() / 1000;
      expect(expiry).toBeGreaterThan(now + 590);
      expect(expiry).toBeLessThan(now + 610);
      // What coturn computes from the same secret for this username: the credential is valid there.
      expect(m![2]).toBe(createHmac('sha1', secret).update(`${m![1]}:onair`).digest('base64'));
      expect(link).not.toContain(secret);
    } finally {
      await other.close();
    }
  });
});

describe('WHEP playback and the directory', () => {
  const whep = (id: string, body = viewerOffer, type = 'application/sdp') =>
    fetch(`${node.url}/whep/${id}`, { method: 'POST', headers: { 'content-type': type }, body });
  const liveIds = async () =>
    ((await (await fetch(`${node.url}/api/streams?live=true`)).json()) as { items: { id: string }[] }).items.map((i) => i.id);

  it('answers 404 stream_offline when nobody publishes, and 404 stream_not_found for an unknown id', async () => {
    const s = await createUserAndStream(node.url);
    const off = await whep(s.id);
    expect(off.status).toBe(404);
    expect(await errorCode(off)).toBe('stream_offline');
    const unknown = await whep('nosuchstream');
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe('stream_not_found');
  });

  it('answers 409 with Retry-After while the publisher has connected no media yet', async () => {
    const s = await createUserAndStream(node.url);
    const res = await whip(s); // signalling only: no ICE, no media
    const early = await whep(s.id);
    expect(early.status).toBe(409);
    expect(early.headers.get('retry-after')).toBe('1');
    expect(await errorCode(early)).toBe('stream_starting');
    await fetch(node.url + res.headers.get('location'), { method: 'DELETE' });
  });

  describe('with media flowing', () => {
    let s: TestStream;
    let pub: Publisher;
    beforeAll(async () => {
      s = await createUserAndStream(node.url);
      pub = await publish(node.url, s.id, s.streamKey, 'vp8');
      await waitFor('stream live', () => node.media.isLive(s.id));
    });
    afterAll(async () => pub?.stop());

    it('lists the stream as live in the directory once media arrives', async () => {
      await waitFor('directory live', async () => (await liveIds()).includes(s.id));
      const item = (await (await fetch(`${node.url}/api/streams/${s.id}`)).json()) as { live: boolean; startedAt: string };
      expect(item.live).toBe(true);
      expect(Date.parse(item.startedAt)).toBeGreaterThan(Date.now() - 60_000);
    });

    it('creates a viewer session: 201 with a sendonly answer and Location; DELETE twice is 200 then 404', async () => {
      const res = await whep(s.id);
      expect(res.status).toBe(201);
      const answer = await res.text();
      expect(answer).toContain('a=sendonly');
      expect(answer).toMatch(/a=ssrc:\d+ cname:/);
      // The answer keeps the viewer's own numbering (browsers decode nothing sent under other numbers).
      const offered = (re: RegExp) => re.exec(viewerOffer)?.[1];
      expect(answer).toContain(`a=rtpmap:${offered(/a=rtpmap:(\d+) VP8\/90000/)} VP8/90000`);
      expect(answer).toContain(`a=rtpmap:${offered(/a=rtpmap:(\d+) opus\/48000/)} opus/48000/2`);
      const tcc = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
      expect(answer).toContain(
        `a=extmap:${offered(/a=extmap:(\d+) http:\/\/www\.ietf\.org\/id\/draft-holmer-rmcat-transport-wide-cc-extensions-01/)} ${tcc}`,
      );
      const url = node.url + res.headers.get('location');
      expect(res.headers.get('location')).toMatch(new RegExp(`^/whep/${s.id}/[\\w-]+$`));
      expect((await fetch(url, { method: 'DELETE' })).status).toBe(200);
      expect((await fetch(url, { method: 'DELETE' })).status).toBe(404);
    });

    it('answers 415 and 400 for bad viewer offers', async () => {
      expect((await whep(s.id, viewerOffer, 'text/plain')).status).toBe(415);
      expect((await whep(s.id, 'nonsense')).status).toBe(400);
    });
  });

  it('takes a stream offline when the publisher deletes its session', async () => {
    const s = await createUserAndStream(node.url);
    const pub = await publish(node.url, s.id, s.streamKey, 'vp8');
    await waitFor('directory live', async () => (await liveIds()).includes(s.id));
    await pub.stop();
    await waitFor('directory offline', async () => !(await liveIds()).includes(s.id));
    expect((await whep(s.id)).status).toBe(404);
  });

  it('takes a stream offline when the publisher stops sending without saying goodbye', async () => {
    const s = await createUserAndStream(node.url);
    const pub = await publish(node.url, s.id, s.streamKey, 'vp8');
    await waitFor('directory live', async () => (await liveIds()).includes(s.id));
    pub.stopMedia(); // RTP stops while ICE and DTLS stay up; no DELETE
    await waitFor('directory offline after the publisher timeout', async () => !(await liveIds()).includes(s.id), 15_000);
    expect(node.media.isBroadcasting(s.id)).toBe(false);
    await pub.stop();
  });

  it('ends the broadcast when the owner rotates the stream key', async () => {
    const s = await createUserAndStream(node.url);
    const pub = await publish(node.url, s.id, s.streamKey, 'vp8');
    await waitFor('directory live', async () => (await liveIds()).includes(s.id));
    const rot = await fetch(`${node.url}/api/streams/${s.id}/key/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}` },
    });
    expect(rot.status).toBe(200);
    await waitFor('directory offline after rotation', async () => !(await liveIds()).includes(s.id));
    expect((await fetch(pub.location, { method: 'DELETE' })).status).toBe(404);
    await pub.stop();
  });
});
