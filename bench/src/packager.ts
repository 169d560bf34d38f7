// Packager CPU per 1,000 player requests per second. The origin (CmafPackager + Fastify playback
// routes, fed by a live ffmpeg 720p/360p + AAC ladder) runs in a child process; this process runs N
// virtual LL-HLS players against it with plain keep-alive http.Agents, each behaving like hls.js in
// low-latency mode: a blocking playlist reload for the next part (_HLS_msn/_HLS_part), then every new
// part of the 720p rendition and the preload-hinted part. Optionally some plain-HLS players (plain
// playlist every second, whole segments).
// For each step: 2 s to settle, then a window in which the origin's CPU (utime+stime from /proc) and
// the requests completed are counted. CPU per 1,000 req/s = (origin CPU - origin CPU with no players)
// / (req/s / 1,000). It measures only.
// Then, if wrk is installed (Debian: apt-get install wrk), the same CPU figure at the origin's
// saturation, where the client is no longer the limit: wrk (one thread, 32 keep-alive connections)
// on one LL media playlist (gzip, as players ask) and on one recent 720p part.
// Knobs (environment): PACKAGER_STEPS (50,100,200), PACKAGER_PLAIN_SHARE (0.2: share of plain-HLS
// players), PACKAGER_WINDOW_SECONDS (8), PACKAGER_WRK (1; 0 skips wrk).
import { execFile, fork } from 'node:child_process';
import { promisify } from 'node:util';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { distribution, machine, round, table } from './report.js';
import { machineBusyShare, machineTicks, processCpuSeconds } from './proc-cpu.js';

const steps = (process.env.PACKAGER_STEPS ?? '50,100,200').split(',').map(Number);
const plainShare = Number(process.env.PACKAGER_PLAIN_SHARE ?? 0.2);
const windowMs = Number(process.env.PACKAGER_WINDOW_SECONDS ?? 8) * 1000;
const settleMs = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => process.stderr.write(`[packager-bench] ${msg}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

interface Counters {
  requests: number;
  failures: number;
  /** failures by status and kind, e.g. "503 playlist" */
  failureKinds: Map<string, number>;
  bytes: number;
  /** time to first byte of part/segment GETs that did not block, ms */
  objectMs: number[];
}

function fail(c: Counters, status: number, kind: string): void {
  c.failures++;
  const k = `${status} ${kind}`;
  c.failureKinds.set(k, (c.failureKinds.get(k) ?? 0) + 1);
}

const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

function get(base: string, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve) => {
    request(base + path, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
      res.on('error', () => resolve({ status: 0, body: Buffer.alloc(0) }));
    })
      .on('error', () => resolve({ status: 0, body: Buffer.alloc(0) }))
      .end();
  });
}

const partUris = (text: string) => [...text.matchAll(/URI="([^"]+\.m4s)"/g)].map((m) => m[1]!);
const segmentUris = (text: string) => text.split('\n').filter((l) => /^[0-9a-z]+\/\d+\.m4s$/.test(l));

async function llPlayer(base: string, c: Counters, running: () => boolean): Promise<void> {
  const seen = new Set<string>();
  let query = '';
  while (running()) {
    const pl = await get(base, `/hls/bench/720p/index.m3u8${query}`);
    c.requests++;
    if (pl.status !== 200) {
      fail(c, pl.status, 'LL playlist');
      query = '';
      await sleep(200);
      continue;
    }
    const text = pl.body.toString();
    const fresh = partUris(text).filter((u) => !seen.has(u));
    const first = seen.size === 0;
    for (const u of fresh) seen.add(u);
    await Promise.all(
      (first ? fresh.slice(-2) : fresh).map(async (u) => {
        const t0 = performance.now();
        const r = await get(base, `/hls/bench/720p/${u}`);
        if (!text.includes(`PRELOAD-HINT:TYPE=PART,URI="${u}"`)) c.objectMs.push(performance.now() - t0);
        c.requests++;
        c.bytes += r.body.length;
        if (r.status !== 200 && r.status !== 404) fail(c, r.status, 'part');
      }),
    );
    const last = /(\d+)\.(\d+)\.m4s"\n(?:#EXT-X-PRELOAD-HINT|#EXTINF)/.exec(text);
    const hint = /PRELOAD-HINT:TYPE=PART,URI="[0-9a-z]+\/(\d+)\.(\d+)\.m4s"/.exec(text);
    query = hint ? `?_HLS_msn=${hint[1]}&_HLS_part=${hint[2]}` : last ? `?_HLS_msn=${Number(last[1]) + 1}&_HLS_part=0` : '';
  }
}

async function plainPlayer(base: string, c: Counters, running: () => boolean): Promise<void> {
  const seen = new Set<string>();
  while (running()) {
    const pl = await get(base, '/hls/bench/720p/plain.m3u8');
    c.requests++;
    if (pl.status !== 200) fail(c, pl.status, 'plain playlist');
    const segs = segmentUris(pl.body.toString());
    for (const u of seen.size ? segs.filter((s) => !seen.has(s)) : segs.slice(-3)) {
      seen.add(u);
      const t0 = performance.now();
      const r = await get(base, `/hls/bench/720p/${u}`);
      c.objectMs.push(performance.now() - t0);
      c.requests++;
      c.bytes += r.body.length;
      if (r.status !== 200) fail(c, r.status, 'segment');
    }
    await sleep(1000);
  }
}

/** wrk against one URL while the origin's CPU is read; undefined when wrk is not installed. */
async function wrkRuns(base: string, pid: number, idleCpu: number): Promise<Record<string, string | number>[]> {
  const run = promisify(execFile);
  try {
    await run('wrk', ['--version']).catch((e: { stdout?: string }) => {
      if (!e.stdout?.includes('wrk')) throw e;
    });
  } catch {
    log('wrk not installed: skipping the saturation runs');
    return [];
  }
  // the part is the first of the newest complete segment, chosen just before its run so that it
  // stays in the 8-segment window for the whole run
  const newestPart = async () => {
    const text = (await get(base, '/hls/bench/720p/index.m3u8')).body.toString();
    return `/hls/bench/720p/${segmentUris(text)
      .at(-1)!
      .replace(/\.m4s$/, '.0.m4s')}`;
  };
  const targets: [string, () => Promise<string>, string[]][] = [
    ['LL media playlist (gzip)', async () => '/hls/bench/720p/index.m3u8', ['-H', 'Accept-Encoding: gzip']],
    ['720p part', newestPart, []],
  ];
  const rows: Record<string, string | number>[] = [];
  for (const [what, pathOf, extra] of targets) {
    const path = await pathOf();
    const check = await get(base, path);
    if (check.status !== 200) log(`${what}: ${path} answers ${check.status} before the run`);
    const seconds = Math.min(windowMs / 1000, 6); // the part must stay in the 8 s window
    const cpu0 = processCpuSeconds(pid);
    const m0 = machineTicks();
    const t0 = performance.now();
    const { stdout } = await run('wrk', ['-t1', '-c32', `-d${seconds}s`, '--latency', ...extra, base + path]);
    const wall = (performance.now() - t0) / 1000;
    const cpu = (processCpuSeconds(pid) - cpu0) / wall;
    const reqs = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
    const p99 = /99%\s+([\d.]+\w+)/.exec(stdout)?.[1] ?? '?';
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
    rows.push({
      'wrk target': what,
      'req/s': round(reqs, 0),
      'origin CPU': `${round(cpu * 100)} %`,
      'CPU per 1k req/s': `${round((cpu - idleCpu) / (reqs / 1000), 3)} core`,
      p99: p99,
      'non-2xx': non2xx,
      'machine busy': `${round(machineBusyShare(m0, machineTicks()) * 100, 0)} %`,
    });
    log(JSON.stringify(rows.at(-1)));
  }
  return rows;
}

async function main(): Promise<void> {
  const child = fork(fileURLToPath(new URL('./packager-origin.js', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  process.on('exit', () => child.kill('SIGKILL'));
  const base = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`origin exited with ${code}`)));
  });
  log(`origin at ${base}, pid ${child.pid}`);

  const measure = async (players: number) => {
    const c: Counters = { requests: 0, failures: 0, failureKinds: new Map(), bytes: 0, objectMs: [] };
    let live = true;
    const plain = Math.round(players * plainShare);
    const all = Array.from({ length: players }, (_, i) => (i < plain ? plainPlayer : llPlayer)(base, c, () => live));
    await sleep(settleMs);
    const c0 = { ...c, objectMs: c.objectMs.length };
    const cpu0 = processCpuSeconds(child.pid!);
    const m0 = machineTicks();
    const t0 = performance.now();
    await sleep(windowMs);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = (processCpuSeconds(child.pid!) - cpu0) / seconds;
    const busy = machineBusyShare(m0, machineTicks());
    const reqs = (c.requests - c0.requests) / seconds;
    const lat = distribution(c.objectMs.slice(c0.objectMs));
    live = false;
    await Promise.all(all);
    if (c.failures) log(`failures with ${players} players: ${JSON.stringify(Object.fromEntries(c.failureKinds))}`);
    return { players, plain, reqs, cpu, mbps: ((c.bytes - c0.bytes) * 8) / seconds / 1e6, failures: c.failures - c0.failures, lat, busy };
  };

  const idle = await measure(0);
  log(`origin alone (packaging the ladder, no players): ${round(idle.cpu * 100)} % of a core`);
  const rows = [];
  for (const n of steps) {
    const r = await measure(n);
    const perK = r.reqs > 0 ? (r.cpu - idle.cpu) / (r.reqs / 1000) : NaN;
    rows.push({
      players: `${n} (${r.plain} plain)`,
      'req/s': round(r.reqs, 0),
      'Mbit/s out': round(r.mbps, 0),
      'origin CPU': `${round(r.cpu * 100)} %`,
      'CPU per 1k req/s': `${round(perK, 2)} core`,
      'object p50/p99 ms': `${round(r.lat.p50)}/${round(r.lat.p99)}`,
      failures: r.failures,
      'machine busy': `${round(r.busy * 100, 0)} %`,
    });
    log(JSON.stringify(rows.at(-1)));
  }
  const wrkRows = process.env.PACKAGER_WRK === '0' ? [] : await wrkRuns(base, child.pid!, idle.cpu);
  console.log(JSON.stringify(machine()));
  console.log(`origin alone: ${round(idle.cpu * 100)} % of a core`);
  console.log(table(rows));
  if (wrkRows.length) console.log(`\n${table(wrkRows)}`);
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  agent.destroy();
}

await main();
