// CPU of the HLS/DASH ladder per input: a real node (HLS on) receives a 720p30 H.264 stream from a
// werift publisher (ffmpeg testsrc2, moving picture), its ladder ffmpeg encodes the configured
// renditions, and the ffmpeg process's CPU time is sampled over a window from /proc. Also reports
// the whole machine's busy share so a busy machine is visible. Then the cost of recording the same
// stream (past broadcasts: the packager's segments copied to disk): the same run with RECORDING off
// and on, in turn (LADDER_RECORDING_ROUNDS pairs, default 2), comparing this process's CPU (node and
// publisher: the recorder runs in the node) and its libuv threadpool's (the file writes), with the
// bytes and files written per second. Knobs: LADDER_SECONDS (20), LADDER_SIZE (1280x720),
// HLS_MAX_RENDITIONS / HLS_PRESET as for the node, LADDER_RECORDING_ROUNDS (0 skips it),
// LADDER_PARTS (ladder,recording,replay: which parts run; `replay` is the recorder's own CPU on
// replayed CMAF, without the live run's noise).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, FileRecordingStore } from '@onair/platform';
import { BroadcastRecorder, CmafPackager } from '@onair/hls-fallback';
import { LADDER_720, recordOutputs, replay, tracksOf } from '../../hls-fallback/test/support/encoder.js';
import { processCpuSeconds, machineTicks, machineBusyShare, threadsCpuSeconds } from './proc-cpu.js';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { publish } from '../../test/support/werift-peers.js';
import { machine, round, table } from './report.js';

const seconds = Number(process.env.LADDER_SECONDS ?? 20);
const size = process.env.LADDER_SIZE ?? '1280x720';
const TARGET_CORES = 0.6;

const rounds = Number(process.env.LADDER_RECORDING_ROUNDS ?? 2);
const TARGET_RECORDING_CORES = 0.02;

function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(join(dir, e.name)) : 1;
  return n;
}

interface RecordingSample {
  recording: boolean;
  processCores: number;
  threadpoolCores: number;
  ffmpegCores: number;
  mbPerSecond: number;
  filesPerSecond: number;
  busy: number;
}

/** One stream through the ladder for `seconds`, with or without recording it. */
async function recordingSample(recording: boolean): Promise<RecordingSample> {
  const dir = mkdtempSync(join(tmpdir(), 'onair-bench-rec-'));
  const node = await startTestNode({
    HLS_MODE: 'always',
    HLS_MAX_RENDITIONS: process.env.HLS_MAX_RENDITIONS ?? '3',
    HLS_PRESET: process.env.HLS_PRESET ?? 'veryfast',
    HLS_POSTER_INTERVAL_MS: '4000',
    ...(recording ? { RECORDINGS_DIR: dir } : {}),
  });
  const s = await createUserAndStream(node.url, 'recording cost');
  const publisher = await publish(node.url, s.id, s.streamKey, 'h264', 2500, size);
  try {
    await waitFor('the ladder to run', () => node.ladders?.get(s.id)?.state === 'running', 30_000);
    await new Promise((r) => setTimeout(r, 12_000)); // past start-up and the recording's start
    const pid = node.ladders!.get(s.id)!.encoderPid!;
    const recorder = () => node.recordings?.recorderOf(s.id);
    if (recording && !recorder()) throw new Error('the stream is not being recorded');
    const bytes0 = recorder()?.bytes ?? 0;
    const files0 = recording ? countFiles(dir) : 0;
    const p0 = process.cpuUsage();
    const pool0 = threadsCpuSeconds('libuv-worke');
    const ff0 = processCpuSeconds(pid);
    const m0 = machineTicks();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const wallS = (Date.now() - t0) / 1000;
    const p = process.cpuUsage(p0);
    return {
      recording,
      processCores: (p.user + p.system) / 1e6 / wallS,
      threadpoolCores: (threadsCpuSeconds('libuv-worke') - pool0) / wallS,
      ffmpegCores: (processCpuSeconds(pid) - ff0) / wallS,
      mbPerSecond: ((recorder()?.bytes ?? 0) - bytes0) / 1e6 / wallS,
      filesPerSecond: recording ? (countFiles(dir) - files0) / wallS : 0,
      busy: machineBusyShare(m0, machineTicks()),
    };
  } finally {
    await publisher.stop();
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function recordingCost(): Promise<void> {
  const samples: RecordingSample[] = [];
  for (let i = 0; i < rounds; i++) for (const recording of [false, true]) samples.push(await recordingSample(recording));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const of = (rec: boolean, f: (x: RecordingSample) => number) => mean(samples.filter((x) => x.recording === rec).map(f));
  const rows = samples.map((x, i) => ({
    run: i + 1,
    recording: x.recording ? 'on' : 'off',
    'process cores': round(x.processCores, 3),
    'threadpool cores': round(x.threadpoolCores, 4),
    'ffmpeg cores': round(x.ffmpegCores, 2),
    'MB/s written': round(x.mbPerSecond, 3),
    'files/s': round(x.filesPerSecond, 2),
    'machine busy %': round(x.busy * 100, 0),
  }));
  const delta = of(true, (x) => x.processCores) - of(false, (x) => x.processCores);
  const poolDelta = of(true, (x) => x.threadpoolCores) - of(false, (x) => x.threadpoolCores);
  console.log(`\nRecording cost per live stream (same ladder, RECORDING off vs on, ${seconds} s each)\n`);
  console.log(table(rows));
  const summary = {
    'process cores on - off': round(delta, 3),
    'threadpool cores on - off': round(poolDelta, 4),
    'MB/s written': round(
      of(true, (x) => x.mbPerSecond),
      3,
    ),
    'files/s': round(
      of(true, (x) => x.filesPerSecond),
      2,
    ),
    target: `< ${TARGET_RECORDING_CORES} core`,
    result: delta < TARGET_RECORDING_CORES ? 'met' : 'MISSED (or noise: compare the rows)',
  };
  console.log(`\n${table([summary])}`);
  console.log(`\n${JSON.stringify({ bench: 'recording-cost', machine: machine(), seconds, samples, ...summary }, null, 2)}`);
}

/**
 * The recorder's own CPU, free of the live run's noise: the same 720p/480p/240p + AAC CMAF (made once
 * by ffmpeg) replayed as fast as possible into a packager alone, then into a packager with a recorder
 * writing to disk (atomic puts with fdatasync); the difference per second of media is what recording
 * costs a live stream. Process CPU covers every thread (the file writes run on libuv's threadpool).
 */
async function replayedRecordingCost(): Promise<void> {
  const mediaSeconds = 20;
  const outputs = await recordOutputs(LADDER_720, mediaSeconds);
  const log = createLogger('silent');
  const once = async (record: boolean) => {
    const dir = mkdtempSync(join(tmpdir(), 'onair-bench-replay-'));
    const packager = new CmafPackager('bench', tracksOf(LADDER_720), { partTargetMs: 200, segmentTargetMs: 1000, windowSegments: 10 });
    const c0 = process.cpuUsage();
    const recorder = record
      ? new BroadcastRecorder(
          packager,
          new FileRecordingStore(dir),
          { begin: async () => ({ id: 'b', prefix: 'broadcasts/b' }), progress: async () => {}, finish: async () => {} },
          { maxQueueBytes: 512e6, progressIntervalMs: 5000 },
          log,
        )
      : undefined;
    replay(packager, outputs);
    packager.end();
    await recorder?.done;
    const c = process.cpuUsage(c0);
    const bytes = recorder?.bytes ?? 0;
    packager.close();
    rmSync(dir, { recursive: true, force: true });
    return { cpuS: (c.user + c.system) / 1e6, bytes };
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const plain: number[] = [];
  const recorded: number[] = [];
  let bytes = 0;
  await once(true); // warm up the JIT and the page cache
  for (let i = 0; i < 5; i++) {
    plain.push((await once(false)).cpuS);
    const r = await once(true);
    recorded.push(r.cpuS);
    bytes = r.bytes;
  }
  const coresAtRealTime = (median(recorded) - median(plain)) / mediaSeconds;
  const row = {
    media: `${mediaSeconds} s, 720p 480p 240p + AAC`,
    'packager CPU s (median)': round(median(plain), 3),
    'packager + recorder CPU s (median)': round(median(recorded), 3),
    'recording cores at real time': round(coresAtRealTime, 4),
    'MB/s written at real time': round(bytes / 1e6 / mediaSeconds, 3),
    target: `< ${TARGET_RECORDING_CORES} core`,
    result: coresAtRealTime < TARGET_RECORDING_CORES ? 'met' : 'MISSED',
  };
  console.log(`\nRecording cost, replayed (the same CMAF through the packager alone and with the recorder, 5 runs each)\n`);
  console.log(table([row]));
  console.log(`\n${JSON.stringify({ bench: 'recording-cost-replayed', machine: machine(), plain, recorded, ...row }, null, 2)}`);
}

async function main(): Promise<void> {
  const node = await startTestNode({
    HLS_MODE: 'always',
    HLS_MAX_RENDITIONS: process.env.HLS_MAX_RENDITIONS ?? '3',
    HLS_PRESET: process.env.HLS_PRESET ?? 'veryfast',
  });
  const s = await createUserAndStream(node.url, 'ladder cpu');
  const publisher = await publish(node.url, s.id, s.streamKey, 'h264', 2500, size);
  try {
    await waitFor('the ladder to run', () => node.ladders?.get(s.id)?.state === 'running', 30_000);
    await new Promise((r) => setTimeout(r, 3000)); // past start-up
    const ladder = node.ladders!.get(s.id)!;
    const pid = ladder.encoderPid!;
    // Segments are 1 s GOPs: segments completed per second of wall clock says whether ffmpeg kept
    // up in real time (a starved encoder would show low CPU only because it fell behind).
    const lastMsn = () => ladder.sink?.tracks[0]?.timeline.last?.msn ?? 0;
    const msn0 = lastMsn();
    const cpu0 = processCpuSeconds(pid);
    const m0 = machineTicks();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const wallS = (Date.now() - t0) / 1000;
    const cores = (processCpuSeconds(pid) - cpu0) / wallS;
    const realtime = ((lastMsn() - msn0) * Number(process.env.HLS_SEGMENT_MS ?? 1000)) / 1000 / wallS;
    const busy = machineBusyShare(m0, machineTicks());
    const row = {
      source: `${ladder.source?.width}x${ladder.source?.height} ${ladder.source?.codec}`,
      renditions: ladder.ladder.map((r) => r.name).join(' '),
      preset: process.env.HLS_PRESET ?? 'veryfast',
      'ffmpeg cores': round(cores, 2),
      'media s per s': round(realtime, 2),
      'machine busy %': round(busy * 100, 0),
      target: `<= ${TARGET_CORES}`,
      result: cores <= TARGET_CORES && realtime > 0.9 ? 'met' : 'MISSED',
    };
    console.log(`\nHLS ladder CPU per input over ${seconds} s (decode once, scale, x264 per rendition, AAC, poster)\n`);
    console.log(table([row]));
    console.log(`\n${JSON.stringify({ bench: 'ladder-cpu', machine: machine(), seconds, ...row }, null, 2)}`);
  } finally {
    await publisher.stop();
    await node.close();
  }
}

const parts = new Set((process.env.LADDER_PARTS ?? 'ladder,recording,replay').split(','));
Promise.resolve()
  .then(() => (parts.has('ladder') ? main() : undefined))
  .then(() => (parts.has('recording') && rounds > 0 ? recordingCost() : undefined))
  .then(() => (parts.has('replay') ? replayedRecordingCost() : undefined))
  .then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
