// ffmpeg never outlives OnAir: a node started as its own process (`node signaling/dist/main.js`, as
// `npm start` runs it) gets a live stream and its ladder ffmpeg; the node is then killed with
// SIGKILL, which runs no cleanup code at all, and its ffmpeg must be gone within seconds.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createUserAndStream, waitFor } from '../../test/support/onair-node.js';
import { publish, type Publisher } from '../../test/support/werift-peers.js';

const MAIN = fileURLToPath(new URL('../../signaling/dist/main.js', import.meta.url));

function childrenOf(pid: number): { pid: number; comm: string }[] {
  const out = spawnSync('ps', ['--ppid', String(pid), '-o', 'pid=,comm=']).stdout.toString();
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p.length === 2)
    .map(([p, c]) => ({ pid: Number(p), comm: c! }));
}

const alive = (pid: number) => spawnSync('kill', ['-0', String(pid)]).status === 0;

describe('ffmpeg and the node process', () => {
  let node: ChildProcess | undefined;
  let publisher: Publisher | undefined;
  afterAll(async () => {
    await publisher?.stop().catch(() => {});
    node?.kill('SIGKILL');
  });

  it('dies with the node even when the node is SIGKILLed', async () => {
    node = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: ':memory:',
        LOG_LEVEL: 'warn',
        MEDIASOUP_WORKERS: '1',
        HLS_MODE: 'always',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    node.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('the node to listen', () => /running at (http:\/\/\S+)/.test(out), 30_000);
    const url = /running at (http:\/\/\S+)/.exec(out)![1]!;
    const s = await createUserAndStream(url);
    publisher = await publish(url, s.id, s.streamKey, 'vp8');
    let ffmpeg: number | undefined;
    await waitFor('the ladder ffmpeg', () => (ffmpeg = childrenOf(node!.pid!).find((c) => c.comm === 'ffmpeg')?.pid) !== undefined, 30_000);
    expect(readFileSync(`/proc/${ffmpeg}/cmdline`, 'utf8')).toContain('libx264');
    node.kill('SIGKILL');
    await waitFor('ffmpeg to die with its parent', () => !alive(ffmpeg!), 5_000);
  });
});
