// A live stream whose picture ffmpeg cannot decode (random VP8 payloads, never a key frame) gets a
// clear HLS/DASH status instead of a hung or crash-looping ffmpeg: packaging is declared failed
// after the probe timeout, the playback URLs answer 503 with the reason, and WebRTC is unaffected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnAirNode } from '@onair/signaling';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { publishUndecodableVideo, type Publisher } from '../../test/support/werift-peers.js';

describe('a stream ffmpeg cannot decode', () => {
  let node: OnAirNode;
  let publisher: Publisher | undefined;
  beforeAll(async () => {
    node = await startTestNode({ HLS_MODE: 'always', HLS_PROBE_TIMEOUT_MS: '3000' });
  });
  afterAll(async () => {
    await publisher?.stop();
    await node?.close();
  });

  it('is declared failed with a reason, answers 503 on its HLS/DASH URLs, and stays live for WebRTC', async () => {
    const s = await createUserAndStream(node.url);
    publisher = await publishUndecodableVideo(node.url, s.id, s.streamKey);
    await waitFor('packaging to start', () => node.ladders?.get(s.id) !== undefined, 10_000);
    const ladder = node.ladders!.get(s.id)!;
    await waitFor('packaging to be declared failed', () => ladder.state === 'failed', 15_000);
    expect(ladder.failure).toMatch(/no decodable video .*VP8/);
    expect(ladder.encoderPid).toBeUndefined();
    for (const path of [`/hls/${s.id}/index.m3u8`, `/dash/${s.id}/manifest.mpd`]) {
      const res = await fetch(node.url + path);
      expect(res.status, path).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('playback_unavailable');
      expect(body.error.message).toMatch(/no decodable video/);
    }
    expect(node.media.isLive(s.id)).toBe(true);
  });
});
