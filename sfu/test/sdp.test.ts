// SDP translation without network: WHIP offers as Chrome and OBS write them become the right
// mediasoup producer parameters, and what cannot be ingested is refused with a reason.
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routerMediaCodecs } from '../src/media-codecs.js';
import { parseOffer } from '../src/sdp/offer.js';
import { orderLowToHigh, planProducer } from '../src/sdp/producer-plan.js';
import { parseSdpFrag } from '../src/sdp/trickle.js';

let worker: types.Worker;
let caps: types.RtpCapabilities;
beforeAll(async () => {
  worker = await mediasoup.createWorker({ logLevel: 'error' });
  caps = (await worker.createRouter({ mediaCodecs: routerMediaCodecs })).rtpCapabilities;
});
afterAll(() => worker?.close());

const session = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  'a=setup:actpass',
];
const audio = [
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=sendonly',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=ssrc:1111 cname:pub',
];
const video = (lines: string[]) => [
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 45',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=sendonly',
  'a=rtcp-mux',
  'a=rtcp-rsize',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtcp-fb:96 transport-cc',
  'a=rtcp-fb:96 goog-remb',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:102 H264/90000',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtcp-fb:102 nack pli',
  'a=rtpmap:103 rtx/90000',
  'a=fmtp:103 apt=102',
  'a=rtpmap:45 AV1/90000',
  ...lines,
];
const sdp = (videoLines: string[], v = video) => `${[...session, ...audio, ...v(videoLines)].join('\r\n')}\r\n`;

describe('WHIP offer to producer parameters', () => {
  it("takes the offerer's first supported codec with its RTX, SSRCs and feedback", () => {
    const offer = parseOffer(sdp(['a=ssrc-group:FID 2222 3333', 'a=ssrc:2222 cname:pub', 'a=ssrc:3333 cname:pub']));
    const r = planProducer(offer.media[1]!, caps);
    if (!r.ok) throw new Error(r.reason);
    const p = r.plan.rtpParameters;
    expect(p.codecs.map((c) => c.mimeType)).toEqual(['video/VP8', 'video/rtx']);
    expect(p.codecs[1]!.parameters).toEqual({ apt: 96 });
    expect(p.encodings).toEqual([{ ssrc: 2222, rtx: { ssrc: 3333 } }]);
    expect(p.codecs[0]!.rtcpFeedback).toContainEqual({ type: 'transport-cc', parameter: '' });
    expect(p.headerExtensions!.map((h) => h.id).sort()).toEqual([10, 11, 3, 4].sort());
    expect(p.rtcp).toEqual({ cname: 'pub', reducedSize: true });
  });

  it('accepts simulcast rids and orders the layers lowest first', () => {
    const offer = parseOffer(sdp(['a=rid:h send', 'a=rid:m send', 'a=rid:l send', 'a=simulcast:send h;m;l']));
    const r = planProducer(offer.media[1]!, caps);
    if (!r.ok) throw new Error(r.reason);
    expect(r.plan.rtpParameters.encodings).toEqual([{ rid: 'l' }, { rid: 'm' }, { rid: 'h' }]);
    expect(r.plan.rids).toEqual(['h', 'm', 'l']); // the answer repeats the offer's order
    expect(orderLowToHigh(['f', 'q', 'h'])).toEqual(['q', 'h', 'f']);
    expect(orderLowToHigh(['a', 'b'])).toEqual(['a', 'b']);
  });

  it('matches H.264 by profile and packetization mode', () => {
    const h264First = (fmtp: string) => (lines: string[]) =>
      video(lines).map((l) =>
        l.startsWith('m=video') ? 'm=video 9 UDP/TLS/RTP/SAVPF 102 103' : l.startsWith('a=fmtp:102') ? `a=fmtp:102 ${fmtp}` : l,
      );
    const ok = planProducer(
      parseOffer(sdp(['a=ssrc:5 cname:x'], h264First('packetization-mode=1;profile-level-id=64001f'))).media[1]!,
      caps,
    );
    expect(ok.ok && ok.plan.rtpParameters.codecs[0]!.mimeType).toBe('video/H264');
    const mode0 = planProducer(
      parseOffer(sdp(['a=ssrc:5 cname:x'], h264First('packetization-mode=0;profile-level-id=42e01f'))).media[1]!,
      caps,
    );
    expect(mode0.ok).toBe(false);
  });

  it('refuses a receive-only section and a codec the router lacks, saying why', () => {
    const recv = parseOffer(sdp(['a=ssrc:5 cname:x']).replace('a=mid:1\r\na=sendonly', 'a=mid:1\r\na=recvonly'));
    const r1 = planProducer(recv.media[1]!, caps);
    expect(r1.ok || r1.reason).toContain('must be sendonly');
    const av1 = parseOffer(sdp([]).replace('m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 45', 'm=video 9 UDP/TLS/RTP/SAVPF 45'));
    const r2 = planProducer(av1.media[1]!, caps);
    expect(r2.ok || r2.reason).toMatch(/no supported video codec .*offered: AV1.*supported: VP8, H264, VP9/);
  });
});

describe('malformed input', () => {
  it.each([
    ['empty', ''],
    ['not SDP', 'GET / HTTP/1.1'],
    ['no media', [...session].join('\r\n')],
    ['no ICE credentials', sdp([]).replace(/a=ice-(ufrag|pwd):\S+\r\n/g, '')],
    ['no mid', sdp([]).replace('a=mid:1\r\n', '')],
    ['huge', `v=0\r\n${'a=x\r\n'.repeat(20_000)}`],
  ])('refuses an offer with %s as 400 bad_sdp', (_what, text) => {
    expect(() => parseOffer(text)).toThrow(expect.objectContaining({ name: 'MediaError', code: 'bad_sdp' }));
  });

  it('reads ICE credentials and candidates from a trickle fragment, refusing garbage', () => {
    const frag = parseSdpFrag(
      'a=ice-ufrag:u1\r\na=ice-pwd:p1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n',
    );
    expect(frag).toEqual({ iceUfrag: 'u1', icePwd: 'p1', candidates: ['candidate:1 1 udp 1 127.0.0.1 5000 typ host'] });
    expect(() => parseSdpFrag('hello there')).toThrow(expect.objectContaining({ code: 'bad_sdp' }));
  });
});
