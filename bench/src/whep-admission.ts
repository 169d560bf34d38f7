// npm run whep-admission -w bench -- [--sessions 200] [--node-main PATH]
//
// What admitting a WebRTC viewer costs the node: a real node process (embedded storage, one worker)
// with a werift publisher, then `--sessions` WHEP POSTs one after another with the same recvonly
// offer (each answered 201 and deleted at once, so none holds a slot), timing POST -> 201 (SDP parse,
// admission checks, transport and consumers, answer) and the node's CPU per session from /proc.
// `--node-main` drives another checkout's node (e.g. a git worktree of an older commit) for an A/B.
import { fileURLToPath } from 'node:url';
import { NodeProcess } from '../../test/support/node-process.js';
import { createUserAndStream, TEST_NODE_ENV, waitFor } from '../../test/support/onair-node.js';
import { makeOffer, publish } from '../../test/support/werift-peers.js';
import { processCpuSeconds } from './proc-cpu.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url)); // bench/dist/bench/src -> repo
function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const SESSIONS = Number(arg('sessions', '200'));
const NODE_MAIN = arg('node-main', `${ROOT}signaling/dist/main.js`);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function main(): Promise<void> {
  // The tests' node settings (embedded storage, one worker, HLS off), in a process of its own.
  const node = await NodeProcess.start('whep-admission', { ...TEST_NODE_ENV, PUBLISHER_TIMEOUT_MS: '60000' }, { main: NODE_MAIN });
  const { url } = node;
  try {
    const s = await createUserAndStream(url, 'whep admission');
    const publisher = await publish(url, s.id, s.streamKey, 'vp8');
    await waitFor('live', async () => (await fetch(`${url}/whep/${s.id}`, { method: 'OPTIONS' })).ok, 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    const offer = await makeOffer('recvonly', 'vp8');
    const pids = [node.pid, ...node.workerPids];
    const cpu0 = pids.map(processCpuSeconds);
    const times: number[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const t0 = performance.now();
      const res = await fetch(`${url}/whep/${s.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp' },
        body: offer.pc.localDescription!.sdp,
      });
      const dt = performance.now() - t0;
      if (res.status !== 201) throw new Error(`WHEP POST ${i} answered ${res.status}: ${await res.text()}`);
      await res.text();
      times.push(dt);
      await fetch(new URL(res.headers.get('location')!, url), { method: 'DELETE' });
    }
    const cpu = pids.map(processCpuSeconds).map((c, i) => c - cpu0[i]!);
    await offer.pc.close();
    await publisher.stop();
    console.log(
      JSON.stringify({
        node: NODE_MAIN,
        sessions: SESSIONS,
        postMs: {
          p50: Number(pct(times, 50).toFixed(1)),
          p95: Number(pct(times, 95).toFixed(1)),
          max: Number(Math.max(...times).toFixed(1)),
        },
        cpuMsPerSession: {
          node: Number(((cpu[0]! * 1000) / SESSIONS).toFixed(2)),
          workers: Number(((cpu.slice(1).reduce((a, b) => a + b, 0) * 1000) / SESSIONS).toFixed(2)),
        },
      }),
    );
  } finally {
    await node.stop();
  }
}

await main();
process.exit(0);
