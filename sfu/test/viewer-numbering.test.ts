// A WHEP viewer's consumer carries the viewer's own payload types and header extension ids next to
// the router's, and the answer is written in the viewer's numbering (Chromium's numbers here).
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { routerMediaCodecs } from '../src/media-codecs.js';
import { inViewerNumbering, installViewerNumbering, REMOTE_ID, REMOTE_PT } from '../src/viewer-numbering.js';

let worker: types.Worker;
let router: types.Router;
let producer: types.Producer;
beforeAll(async () => {
  installViewerNumbering();
  worker = await mediasoup.createWorker({ logLevel: 'error' });
  router = await worker.createRouter({ mediaCodecs: routerMediaCodecs });
  const ingest = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' } });
  producer = await ingest.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [
        { mimeType: 'video/VP8', payloadType: 120, clockRate: 90000 },
        { mimeType: 'video/rtx', payloadType: 121, clockRate: 90000, parameters: { apt: 120 } },
      ],
      headerExtensions: [{ uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', id: 7 }],
      encodings: [{ ssrc: 1111, rtx: { ssrc: 2222 } }],
    },
  });
});
afterAll(() => worker?.close());

const TCC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01' as const;
const chromium = (withRtx: boolean): types.RtpCapabilities => ({
  codecs: [
    {
      kind: 'video',
      mimeType: 'video/VP8',
      preferredPayloadType: 96,
      clockRate: 90000,
      rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'transport-cc' }],
    },
    ...(withRtx
      ? [{ kind: 'video' as const, mimeType: 'video/rtx', preferredPayloadType: 97, clockRate: 90000, parameters: { apt: 96 } }]
      : []),
    {
      kind: 'video',
      mimeType: 'video/H264',
      preferredPayloadType: 102,
      clockRate: 90000,
      parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' },
    },
  ],
  headerExtensions: [
    { kind: 'video', uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', preferredId: 2 },
    { kind: 'video', uri: TCC, preferredId: 3 },
    { kind: 'video', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 9 },
  ],
});

it('keeps the router numbering for the worker and records the viewer numbering beside it', async () => {
  const t = await router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const consumer = await t.consume({ producerId: producer.id, rtpCapabilities: chromium(true), paused: true });
  const vp8 = consumer.rtpParameters.codecs[0]!;
  expect(vp8.mimeType).toBe('video/VP8');
  expect(vp8.payloadType).not.toBe(96); // the router's own number...
  expect(vp8.parameters?.[REMOTE_PT]).toBe(96); // ...and the viewer's
  expect(consumer.rtpParameters.codecs[1]!.parameters?.[REMOTE_PT]).toBe(97);
  const tcc = consumer.rtpParameters.headerExtensions!.find((h) => h.uri === TCC)!;
  expect(tcc.parameters?.[REMOTE_ID]).toBe(3); // kept although the ids differ, so bandwidth estimation works

  const answer = inViewerNumbering(consumer.rtpParameters);
  expect(answer.codecs.map((c) => [c.mimeType, c.payloadType, c.parameters])).toEqual([
    ['video/VP8', 96, {}],
    ['video/rtx', 97, { apt: 96 }],
  ]);
  expect(answer.extensions).toEqual(
    expect.arrayContaining([
      { id: 3, uri: TCC },
      { id: 2, uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time' },
      { id: 9, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' },
    ]),
  );
  t.close();
});

it('drops RTX when the viewer offers none for the codec', async () => {
  const t = await router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
  const consumer = await t.consume({ producerId: producer.id, rtpCapabilities: chromium(false), paused: true });
  expect(consumer.rtpParameters.codecs.map((c) => c.mimeType)).toEqual(['video/VP8']);
  expect(consumer.rtpParameters.encodings![0]!.rtx).toBeUndefined();
  t.close();
});
