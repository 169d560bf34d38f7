// CPU of the HLS/DASH ladder per input: a real node (HLS on) receives a 720p30 H.264 stream from a
// werift publisher (ffmpeg testsrc2, moving picture), its ladder ffmpeg encodes the configured
// renditions, and the ffmpeg process's CPU time is sampled over a window from /proc. Also reports
// the whole machine's busy share so a busy machine is visible. Knobs: LADDER_SECONDS (20),
// LADDER_SIZE (1280x720), HLS_MAX_RENDITIONS / HLS_PRESET as for the node.
import { processCpuSeconds, machineTicks, machineBusyShare } from './proc-cpu.js';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { publish } from '../../test/support/werift-peers.js';
import { machine, round, table } from './report.js';

const seconds = Number(process.env.LADDER_SECONDS ?? 20);
const size = process.env.LADDER_SIZE ?? '1280x720';
const TARGET_CORES = 0.6;

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

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
