// Past broadcasts on real nodes with real ffmpeg: a stream published over WHIP for ~15 s is recorded
// from the ladder's own CMAF, listed once it ends, and every rung's VOD playlist (ENDLIST) reads in
// ffprobe with the recorded duration; odd ids and names in recording URLs answer 400/404 and never
// reach the disk; the owner's delete removes it from listings and disk at once (players get 410).
// A node SIGKILLed mid-broadcast leaves a recording another node serves, up to its last segment.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnAirNode } from '@onair/signaling';
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
    node = await startTestNode({ HLS_MODE: 'always', RECORDINGS_DIR: dir, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn' });
  });

  afterAll(async () => {
    for (const p of publishers) await p.stop();
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let stream: TestStream;
  let broadcast: BroadcastJson;

  it('records a 15 s broadcast: listed when it ends, every rung a VOD playlist ffprobe reads at its duration (±1 s)', async () => {
    stream = await createUserAndStream(node.url, 'recorded show');
    const pub = await publish(node.url, stream.id, stream.streamKey, 'h264');
    publishers.push(pub);
    await waitForLadder(node.url, stream.id);
    await waitFor('the broadcast to be listed while recording', async () => (await broadcastsOf(node.url, stream.id)).length === 1, 15_000);
    const during = (await broadcastsOf(node.url, stream.id))[0]!;
    expect(during.status).toBe('recording');
    expect(during.playback.dvr).toMatch(/\/dvr\.m3u8$/);
    await new Promise((r) => setTimeout(r, 15_000));
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
