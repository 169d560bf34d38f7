// Past broadcasts on real nodes with real ffmpeg: a stream published over WHIP for ~15 s is recorded
// from the ladder's own CMAF, listed once it ends, and every rung's VOD playlist (ENDLIST) reads in
// ffprobe with the recorded duration; odd ids and names in recording URLs answer 400/404 and never
// reach the disk; the owner's delete removes it from listings and disk at once (players get 410).
// A node SIGKILLed mid-broadcast leaves a recording another node serves, up to its last segment.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnAirNode } from '@onair/signaling';
import { launchBrowser } from '../support/browser.js';
import { api, ChannelClient, registerUser } from '../support/channel-client.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { NodeProcess } from '../support/node-process.js';
import { createUserAndStream, startTestNode, waitFor, type TestStream } from '../support/onair-node.js';
import { publish, type Publisher } from '../support/werift-peers.js';

const run = promisify(execFile);

interface BroadcastJson {
  id: string;
  streamId: string;
  status: 'recording' | 'complete' | 'partial';
  durationMs: number;
  startedAt: string;
  endedAt: string | null;
  playback: { hls: string; dash: string; dvr?: string };
}

interface ClipJson {
  id: string;
  streamId: string;
  broadcastId: string;
  startMs: number;
  durationMs: number;
  url: string;
  mp4: string;
}

interface ReplayJson {
  type: 'chat' | 'tip' | 'reactions';
  offsetMs: number;
  text?: string;
  amount?: number;
  message?: string;
  counts?: Record<string, number>;
}

async function postJson(url: string, token: string | undefined, body: unknown) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
}

async function broadcastsOf(base: string, streamId: string): Promise<BroadcastJson[]> {
  const res = await fetch(`${base}/api/streams/${streamId}/broadcasts`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: BroadcastJson[] }).items;
}

/** ffprobe's reading of an HLS playlist URL: the container duration in seconds. */
async function probeDuration(url: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', url], { timeout: 60_000 });
  return Number((JSON.parse(stdout) as { format: { duration: string } }).format.duration);
}

async function mediaPlaylists(hlsUrl: string): Promise<string[]> {
  const text = await (await fetch(hlsUrl)).text();
  const uris = text.split('\n').filter((l) => l.endsWith('.m3u8') && !l.startsWith('#'));
  for (const m of text.matchAll(/URI="([^"]+)"/g)) uris.push(m[1]!);
  return uris.map((u) => new URL(u, hlsUrl).toString());
}

async function waitForLadder(base: string, streamId: string): Promise<void> {
  await waitFor('the ladder to package media', async () => (await fetch(`${base}/hls/${streamId}/index.m3u8`)).status === 200, 60_000);
}

describe('past broadcasts', () => {
  let node: OnAirNode;
  let dir: string;
  const publishers: Publisher[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'onair-recordings-'));
    node = await startTestNode({
      HLS_MODE: 'always',
      RECORDINGS_DIR: dir,
      CLIPS_PER_HOUR: '3',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    });
  });

  afterAll(async () => {
    for (const p of publishers) await p.stop();
    for (const c of channels) await c.close();
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let stream: TestStream;
  let broadcast: BroadcastJson;
  const clips: ClipJson[] = [];
  const channels: ChannelClient[] = [];
  /** When each chat event was sent (wall clock). */
  const sent: Record<'hello' | 'reactions' | 'tip' | 'late', number> = { hello: 0, reactions: 0, tip: 0, late: 0 };

  it('records a 15 s broadcast: listed when it ends, every rung a VOD playlist ffprobe reads at its duration (±1 s)', async () => {
    stream = await createUserAndStream(node.url, 'recorded show');
    const pub = await publish(node.url, stream.id, stream.streamKey, 'h264');
    publishers.push(pub);
    await waitForLadder(node.url, stream.id);
    await waitFor('the broadcast to be listed while recording', async () => (await broadcastsOf(node.url, stream.id)).length === 1, 15_000);
    const during = (await broadcastsOf(node.url, stream.id))[0]!;
    expect(during.status).toBe('recording');
    expect(during.playback.dvr).toMatch(/\/dvr\.m3u8$/);
    // The chat while it is live: a message, a troll's (then banned), one the owner deletes, reactions and a tip.
    await new Promise((r) => setTimeout(r, 2_000));
    const chatter = await registerUser(node.url);
    const troll = await registerUser(node.url);
    const channel = await ChannelClient.connect(node.url, stream.id, chatter.token);
    const trollChannel = await ChannelClient.connect(node.url, stream.id, troll.token);
    channels.push(channel, trollChannel);
    sent.hello = Date.now();
    channel.chat('hello from the past');
    await channel.waitForText('hello from the past');
    trollChannel.chat('troll message');
    await channel.waitForText('troll message');
    expect((await api(node.url, 'POST', `/api/streams/${stream.id}/bans`, stream.token, { userId: troll.id })).status).toBe(201);
    channel.chat('oops, deleted');
    await channel.waitForText('oops, deleted');
    const oops = channel.chatMessages.find((m) => m.text === 'oops, deleted')!;
    expect((await api(node.url, 'DELETE', `/api/streams/${stream.id}/messages/${oops.id}`, stream.token)).status).toBe(204);
    for (let i = 0; i < 5; i++) channel.send({ reaction: { emoji: '🔥' } });
    sent.reactions = Date.now();
    expect((await api(node.url, 'POST', '/api/wallet/topups', chatter.token, { amount: 2000 })).status).toBe(201);
    sent.tip = Date.now();
    const tip = await fetch(`${node.url}/api/streams/${stream.id}/tips`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${chatter.token}`, 'idempotency-key': 'replay-tip' },
      body: JSON.stringify({ amount: 500, message: 'great show' }),
    });
    expect(tip.status).toBe(201);
    await new Promise((r) => setTimeout(r, 4_000));
    sent.late = Date.now();
    channel.chat('a late message');
    await channel.waitForText('a late message');
    await new Promise((r) => setTimeout(r, 3_000));
    // A viewer clips the last 5 s of the live stream.
    const viewer = await createUserAndStream(node.url, 'a viewer');
    const liveClip = await postJson(`${node.url}/api/streams/${stream.id}/clips`, viewer.token, { durationSeconds: 5 });
    expect(liveClip.status, JSON.stringify(liveClip.body)).toBe(201);
    clips.push(liveClip.body as ClipJson);
    await new Promise((r) => setTimeout(r, 3_000));
    await pub.stop();
    publishers.pop();
    await waitFor('the broadcast to be complete', async () => (await broadcastsOf(node.url, stream.id))[0]?.status === 'complete', 30_000);
    broadcast = (await broadcastsOf(node.url, stream.id))[0]!;
    expect(broadcast).toMatchObject({ streamId: stream.id, status: 'complete' });
    expect(broadcast.endedAt).not.toBeNull();
    // About 15 s of media: the publisher ran 15 s after the ladder's first segment, give or take its start.
    expect(broadcast.durationMs).toBeGreaterThan(13_000);
    expect(broadcast.durationMs).toBeLessThan(19_000);
    const one = (await (await fetch(`${node.url}/api/broadcasts/${broadcast.id}`)).json()) as BroadcastJson;
    expect(one.id).toBe(broadcast.id);

    const playlists = await mediaPlaylists(broadcast.playback.hls);
    expect(playlists.map((u) => u.split('/').at(-2)).sort()).toEqual(['160p', '360p', 'audio']);
    for (const url of playlists) {
      const text = await (await fetch(url)).text();
      expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
      expect(text.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
      const seconds = await probeDuration(url);
      expect(Math.abs(seconds - broadcast.durationMs / 1000), `${url}: ffprobe says ${seconds} s`).toBeLessThanOrEqual(1);
    }
    // The whole ladder through the multivariant playlist, as a player would open it.
    expect(Math.abs((await probeDuration(broadcast.playback.hls)) - broadcast.durationMs / 1000)).toBeLessThanOrEqual(1);
    // No temp file is left where a reader could see it.
    for (const track of ['360p', '160p', 'audio']) {
      const names = readdirSync(join(dir, 'broadcasts', broadcast.id, track));
      expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
    }
  }, 150_000);

  it('clips a range of the past broadcast and the last seconds of the live one: MP4s of the length asked (±0.5 s) that Chromium plays', async () => {
    const viewer = await createUserAndStream(node.url, 'a clipper');
    const made = await postJson(`${node.url}/api/broadcasts/${broadcast.id}/clips`, viewer.token, { startMs: 4000, durationMs: 6000 });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const clip = made.body as ClipJson;
    clips.push(clip);
    expect(clip.url).toBe(`${node.url}/clip/${clip.id}`);
    expect(Math.abs(clip.durationMs - 6000)).toBeLessThanOrEqual(500);
    expect(Math.abs(clip.startMs - 4000)).toBeLessThanOrEqual(500);
    for (const [c, asked] of [
      [clips[0]!, 5],
      [clip, 6],
    ] as const) {
      const file = join(dir, `probe-${c.id}.mp4`);
      writeFileSync(file, Buffer.from(await (await fetch(c.mp4)).arrayBuffer()));
      const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type', '-of', 'json', file]);
      const probe = JSON.parse(stdout) as { format: { duration: string }; streams: { codec_type: string }[] };
      expect(probe.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
      expect(Math.abs(Number(probe.format.duration) - asked), `clip ${c.id}: ${probe.format.duration} s`).toBeLessThanOrEqual(0.5);
      rmSync(file);
    }
    const got = (await (await fetch(`${node.url}/api/clips/${clip.id}`)).json()) as ClipJson;
    expect(got).toMatchObject({ id: clip.id, broadcastId: broadcast.id, streamId: stream.id });
    const listed = (await (await fetch(`${node.url}/api/streams/${stream.id}/clips`)).json()) as { items: ClipJson[] };
    expect(listed.items.map((c) => c.id).sort()).toEqual(clips.map((c) => c.id).sort());
    const download = await fetch(`${clip.mp4}?download=1`);
    expect(download.headers.get('content-disposition')).toContain('attachment');
    await download.arrayBuffer();

    // It plays in Chromium (the MP4 opened as a page: Chromium's own player).
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(clip.mp4);
      await page.waitForFunction(
        () => {
          const v = document.querySelector('video');
          return !!v && v.videoWidth > 0 && v.currentTime > 1;
        },
        undefined,
        { timeout: 20_000 },
      );
    } finally {
      await browser.close();
    }
  }, 90_000);

  it('refuses bad clips with a 4xx and a code, and limits clips per user', async () => {
    const viewer = await createUserAndStream(node.url, 'a bad clipper');
    const at = `${node.url}/api/broadcasts/${broadcast.id}/clips`;
    const codeOf = async (url: string, token: string | undefined, body: unknown) => {
      const r = await postJson(url, token, body);
      return `${r.status} ${(r.body as { error?: { code: string } }).error?.code}`;
    };
    expect(await codeOf(at, undefined, { startMs: 0, durationMs: 6000 })).toBe('401 not_signed_in');
    expect(await codeOf(at, viewer.token, { startMs: 0, durationMs: 4000 })).toBe('400 invalid_clip_length');
    expect(await codeOf(at, viewer.token, { startMs: 0, durationMs: 61_000 })).toBe('400 invalid_clip_length');
    expect(await codeOf(at, viewer.token, { startMs: -1000, durationMs: 6000 })).toBe('400 invalid_clip_range');
    expect(await codeOf(at, viewer.token, { startMs: 'soon', durationMs: 6000 })).toBe('400 invalid_body');
    expect(await codeOf(at, viewer.token, { startMs: 0.5, durationMs: 6000 })).toBe('400 invalid_body');
    expect(await codeOf(at, viewer.token, { startMs: 60_000, durationMs: 6000 })).toBe('422 range_outside_recording');
    expect(await codeOf(`${node.url}/api/broadcasts/AAAAAAAAAAAA/clips`, viewer.token, { startMs: 0, durationMs: 6000 })).toBe(
      '404 broadcast_not_found',
    );
    expect(await codeOf(`${node.url}/api/streams/${stream.id}/clips`, viewer.token, { durationSeconds: 10 })).toBe(
      '409 stream_not_recording',
    );
    expect(await codeOf(`${node.url}/api/streams/${stream.id}/clips`, viewer.token, { durationSeconds: 90 })).toBe(
      '400 invalid_clip_length',
    );
    // CLIPS_PER_HOUR=3: the out-of-range try counted (it was checked against the recording); two more pass, then 429.
    expect(await codeOf(at, viewer.token, { startMs: 0, durationMs: 5000 })).toBe('201 undefined');
    expect(await codeOf(at, viewer.token, { startMs: 5000, durationMs: 5000 })).toBe('201 undefined');
    const limited = await postJson(at, viewer.token, { startMs: 0, durationMs: 5000 });
    expect(limited.status).toBe(429);
    expect((limited.body as { error: { code: string } }).error.code).toBe('clip_rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  }, 60_000);

  it('replays the chat of the broadcast at the offsets it was sent (±1 s), without deleted messages or banned users', async () => {
    const startedAt = Date.parse(broadcast.startedAt);
    const replay = async (query: string) => {
      const res = await fetch(`${node.url}/api/broadcasts/${broadcast.id}/chat${query}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { items: ReplayJson[]; nextFromMs: number | null }).items;
    };
    const all = await replay('?fromMs=0&toMs=600000');
    const texts = all.filter((e) => e.type === 'chat').map((e) => e.text);
    expect(texts).toEqual(['hello from the past', 'a late message']);
    const near = (e: ReplayJson | undefined, at: number) => {
      expect(e).toBeDefined();
      expect(Math.abs(e!.offsetMs - (at - startedAt)), `${e!.type} at ${e!.offsetMs} ms, sent at ${at - startedAt} ms`).toBeLessThanOrEqual(
        1000,
      );
    };
    near(
      all.find((e) => e.text === 'hello from the past'),
      sent.hello,
    );
    near(
      all.find((e) => e.text === 'a late message'),
      sent.late,
    );
    const tip = all.find((e) => e.type === 'tip');
    near(tip, sent.tip);
    expect(tip).toMatchObject({ amount: 500, message: 'great show' });
    const burst = all.find((e) => e.type === 'reactions');
    near(burst, sent.reactions);
    expect(burst!.counts!['🔥']).toBe(5);
    // A player that seeks asks for the range it lands in: only that range's events come back.
    const lateAt = all.find((e) => e.text === 'a late message')!.offsetMs;
    const seeked = await replay(`?fromMs=${lateAt - 500}&toMs=${lateAt + 500}`);
    expect(seeked.map((e) => e.text)).toEqual(['a late message']);
    const bad = async (query: string) => {
      const res = await fetch(`${node.url}/api/broadcasts/${broadcast.id}/chat${query}`);
      return `${res.status} ${((await res.json()) as { error: { code: string } }).error.code}`;
    };
    expect(await bad('?fromMs=5000&toMs=1000')).toBe('400 invalid_replay_range');
    expect(await bad('?fromMs=0&toMs=3600000')).toBe('400 invalid_replay_range');
    expect(await bad('?fromMs=-5')).toBe('400 invalid_query');
  });

  it('answers odd ids and object names with 400/404, never a file outside the recording', async () => {
    const b = broadcast.id;
    const statusOf = async (path: string) => (await fetch(`${node.url}${path}`)).status;
    expect(await statusOf('/vod/..%2F..%2F..%2Fetc/index.m3u8')).toBe(404);
    expect(await statusOf(`/vod/${b}/..%2F..%2F..%2Fetc/passwd`)).toBe(404);
    expect(await statusOf(`/vod/${b}/360p/..%2Fmeta.json`)).toBe(404);
    expect(await statusOf(`/vod/${b}/360p/meta.json`)).toBe(404);
    expect(await statusOf(`/vod/${b}/..%2F360p/init-0.mp4`)).toBe(404);
    expect(await statusOf(`/vod/${b}/nope/index.m3u8`)).toBe(404);
    expect(await statusOf('/vod/AAAAAAAAAAAA/index.m3u8')).toBe(404);
    expect(await statusOf('/api/broadcasts/..%2Fstreams')).toBe(400);
    expect(await statusOf('/api/broadcasts/AAAAAAAAAAAA')).toBe(404);
    expect(await statusOf(`/api/streams/${'x'.repeat(80)}/broadcasts`)).toBe(400);
    expect(await statusOf(`/api/streams/${stream.id}/broadcasts?cursor=..%2F`)).toBe(400);
    expect(await statusOf(`/vod/${b}/360p/init-0.mp4`)).toBe(200);
  });

  it('the owner deletes a broadcast: gone from listings and disk at once, players get 410, others may not delete', async () => {
    const b = broadcast.id;
    const segment = (await (await fetch(`${node.url}/vod/${b}/360p/index.m3u8`)).text()).split('\n').find((l) => l.endsWith('.m4s'))!;
    const stranger = await createUserAndStream(node.url, 'someone else');
    const del = (token?: string) =>
      fetch(`${node.url}/api/broadcasts/${b}`, { method: 'DELETE', headers: token ? { authorization: `Bearer ${token}` } : {} });
    expect((await del()).status).toBe(401);
    const forbidden = await del(stranger.token);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe('not_stream_owner');
    expect((await del(stream.token)).status).toBe(204);
    expect(await broadcastsOf(node.url, stream.id)).toEqual([]);
    expect((await fetch(`${node.url}/api/broadcasts/${b}`)).status).toBe(404);
    for (const path of [`/vod/${b}/index.m3u8`, `/vod/${b}/360p/index.m3u8`, `/vod/${b}/360p/${segment}`]) {
      const res = await fetch(`${node.url}${path}`);
      expect(res.status, path).toBe(410);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('broadcast_deleted');
    }
    expect(existsSync(join(dir, 'broadcasts', b))).toBe(false);
    // Its clips went with it.
    expect((await fetch(`${node.url}/api/clips/${clips[0]!.id}`)).status).toBe(404);
    expect((await fetch(clips[0]!.mp4)).status).toBe(404);
    expect(readdirSync(join(dir, 'clips'))).toEqual([]);
    expect((await fetch(`${node.url}/api/broadcasts/${b}/chat`)).status).toBe(404);
    const late = await postJson(`${node.url}/api/broadcasts/${b}/clips`, stream.token, { startMs: 0, durationMs: 5000 });
    expect(late.status).toBe(410);
    expect((await del(stream.token)).status).toBe(404);
  });
});

describe('a node killed mid-broadcast', () => {
  let database: TestDatabase;
  let dir: string;
  let child: NodeProcess | undefined;
  let reader: OnAirNode | undefined;
  let pub: Publisher | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    dir = mkdtempSync(join(tmpdir(), 'onair-recordings-kill-'));
  });

  afterAll(async () => {
    await pub?.stop();
    await child?.kill();
    await reader?.close();
    await database?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves a recording that another node lists as partial and serves up to its last complete segment', async () => {
    const env = {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      DATABASE_URL: database.url!,
      JWT_SECRET: 'recording-kill-test-secret-0123456789abcdef',
      MEDIASOUP_WORKERS: '1',
      HLS_MODE: 'always',
      RECORDINGS_DIR: dir,
    };
    child = await NodeProcess.start('recording-sigkill', env);
    const stream = await createUserAndStream(child.url, 'cut short');
    pub = await publish(child.url, stream.id, stream.streamKey, 'h264');
    await waitForLadder(child.url, stream.id);
    await new Promise((r) => setTimeout(r, 8000));
    const killedAt = Date.now();
    await child.kill();
    await pub.stop();
    pub = undefined;

    // Another node on the same database and recordings directory (the distributed mode's shape).
    const { JWT_SECRET, DATABASE_URL } = env;
    reader = await startTestNode({ DATABASE_URL, JWT_SECRET, RECORDINGS_DIR: dir, HLS_MODE: 'always', LOG_LEVEL: 'warn' });
    const [b] = await broadcastsOf(reader.url, stream.id);
    expect(b).toBeDefined();
    // Its node stopped beating: partial once the heartbeat is stale (ABANDONED_AFTER_MS).
    await waitFor(
      'the recording to read as partial',
      async () => (await broadcastsOf(reader!.url, stream.id))[0]?.status === 'partial',
      40_000,
    );
    const playlists = await mediaPlaylists(b!.playback.hls);
    expect(playlists.length).toBe(3);
    for (const url of playlists) {
      const text = await (await fetch(url)).text();
      expect(text.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
      const seconds = await probeDuration(url);
      // ~8 s published after the first segment; everything up to the kill but the segment in progress.
      expect(seconds, url).toBeGreaterThan(5);
      expect(seconds, url).toBeLessThan(12);
    }
    const startedAt = Date.parse(b!.startedAt);
    expect(startedAt).toBeLessThan(killedAt);
  }, 150_000);
});
