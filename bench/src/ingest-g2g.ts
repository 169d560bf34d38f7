// Glass-to-glass delay RTMP -> WebRTC and SRT -> WebRTC on loopback: this process paints the wall
// clock (the g2g bench's timecode grid) into raw 640x360 frames at 30 fps and writes them, paced on
// the clock, to ffmpeg as the streamer's encoder, which pushes H.264 + AAC over RTMP (FLV) or SRT
// (MPEG-TS) to a real OnAir node (HLS on, as in production); headless Chromium plays the stream over
// WHEP through the client SDK and reads the clock back from every presented frame (g2g-page's
// startWatching, the same reader as the WHIP bench). The delay covers the encoder, the node's
// contribution encoder (decode, three x264 layers), mediasoup and the browser. Two encoder settings
// per protocol: `-tune zerolatency` without B-frames (what a low-latency setup sends) and OBS's x264
// default (2 B-frames, lookahead). Knobs: INGEST_G2G_SECONDS (20 per case), G2G_WARMUP_SECONDS (3),
// INGEST_G2G_CASES (rtmp-zerolatency,srt-zerolatency,rtmp-bframes,srt-bframes), INGEST_G2G_AUDIO=0
// (video only: the browser then has no audio to hold the video for). A case named with `-pes0`
// (e.g. srt-zerolatency-pes0) has the encoder's MPEG-TS muxer put every audio frame in a PES of its
// own (`-pes_payload_size 0`) instead of packing ~2.9 kB of audio per PES, which holds audio back.
// SRT's receive latency: the node listens with SRT_LATENCY_MS=20 and each SRT encoder asks for 120 ms
// (libsrt's default, what a node without SRT_LATENCY_MS agrees) unless the case is named `-lat<ms>`
// (e.g. srt-zerolatency-pes0-lat20): the connection uses the larger of the two.
import { loadavg } from 'node:os';
import type { Writable } from 'node:stream';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { launchBrowser } from '../../test/support/browser.js';
import { spawnPush } from '../../test/support/push-encoder.js';
import { openBenchPage } from './bench-page.js';
import { distribution, machine, round, table } from './report.js';
import { FRAME_HEIGHT, FRAME_WIDTH, paintTimecodeGray } from './timecode.js';

const seconds = Number(process.env.INGEST_G2G_SECONDS ?? 20);
const warmupMs = Number(process.env.G2G_WARMUP_SECONDS ?? 3) * 1000;
const cases = (process.env.INGEST_G2G_CASES ?? 'rtmp-zerolatency,srt-zerolatency,rtmp-bframes,srt-bframes').split(',');
const FPS = 30;
const TARGET_P95_MS = 400;

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** Writes clock frames to `sink` every 1/FPS s on a drift-free schedule until stopped; counts late writes. */
function paintClock(sink: Writable): { stop: () => void; dropped: () => number } {
  const frame = new Uint8Array(FRAME_WIDTH * FRAME_HEIGHT);
  const t0 = Date.now();
  let n = 0;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    // A moving bar outside the grid gives the encoder motion to code, as a camera would.
    frame.fill(0x30);
    const bar = (n * 8) % FRAME_WIDTH;
    for (let y = 0; y < 16; y++) frame.fill(0xe0, y * FRAME_WIDTH + bar, y * FRAME_WIDTH + Math.min(FRAME_WIDTH, bar + 40));
    paintTimecodeGray(frame, Date.now());
    // A full pipe (ffmpeg behind) drops the frame rather than queueing a stale clock.
    if (sink.writableLength < frame.length * 2) sink.write(Buffer.from(frame));
    else dropped++;
    n++;
    timer = setTimeout(tick, Math.max(0, t0 + (n * 1000) / FPS - Date.now()));
  };
  tick();
  return { stop: () => clearTimeout(timer), dropped: () => dropped };
}

async function measure(
  node: Awaited<ReturnType<typeof startTestNode>>,
  browser: Awaited<ReturnType<typeof launchBrowser>>,
  name: string,
): Promise<Record<string, string | number>> {
  const [protocol, setting] = name.split('-') as ['rtmp' | 'srt', 'zerolatency' | 'bframes'];
  const packing = name.includes('-pes0') ? 'pes0' : undefined;
  const srtLatencyMs = Number(/-lat(\d+)/.exec(name)?.[1] ?? 120);
  const s = await createUserAndStream(node.url, `ingest g2g ${name}`);
  const url =
    protocol === 'rtmp'
      ? `rtmp://127.0.0.1:${node.rtmp!.port}/live/${s.streamKey}`
      : `srt://127.0.0.1:${node.srt!.port}?streamid=${encodeURIComponent(s.streamKey)}&pkt_size=1316&latency=${srtLatencyMs * 1000}`;
  const pusher = spawnPush(
    {
      url,
      format: protocol === 'rtmp' ? 'flv' : 'mpegts',
      videoInput: [
        '-f',
        'rawvideo',
        '-pix_fmt',
        'gray',
        '-video_size',
        `${FRAME_WIDTH}x${FRAME_HEIGHT}`,
        '-framerate',
        String(FPS),
        '-i',
        'pipe:0',
      ],
      bFrames: setting === 'bframes' ? 2 : 0,
      zeroLatency: setting === 'zerolatency',
      gop: 60,
      videoBitrate: '1500k',
      muxOptions: packing === 'pes0' ? ['-pes_payload_size', '0'] : [],
      audio: process.env.INGEST_G2G_AUDIO !== '0',
      seconds: seconds + 60,
    },
    'pipe',
  );
  pusher.child.stdin!.on('error', () => {});
  const clock = paintClock(pusher.child.stdin!);
  const watchCtx = await browser.newContext({ viewport: { width: 700, height: 400 } });
  try {
    await waitFor('the stream to be live', () => node.media.source(s.id) !== undefined, 30_000);
    const watcher = await openBenchPage(watchCtx, node.url, 'watcher');
    await watcher.evaluate((o) => window.g2g!.startWatching(o), { whepUrl: `${node.url}/whep/${s.id}`, timeoutMs: 15_000 });
    await watcher.waitForFunction(() => document.querySelector('video')!.videoWidth > 0, undefined, { timeout: 20_000 });
    const firstFrameAt = Date.now();
    const load0 = loadavg()[0]!;
    process.stderr.write(`[ingest-g2g] ${name}: playing; sampling for ${seconds} s\n`);
    await watcher.waitForTimeout(seconds * 1000);
    const viewer = await watcher.evaluate(() => window.g2g!.viewerReport());
    await watcher.evaluate(() => window.g2g!.stop());
    const kept = viewer.samples.filter((x) => x.shownAt >= firstFrameAt + warmupMs);
    const spanS = kept.length > 1 ? (kept[kept.length - 1]!.shownAt - kept[0]!.shownAt) / 1000 : NaN;
    const d = distribution(kept.map((x) => x.delayMs));
    return {
      time: new Date().toISOString().slice(11, 16),
      case: name,
      'srt latency ms': protocol === 'srt' ? (node.srt!.latencyOf(s.id) ?? '?') : '-',
      encoder: setting === 'bframes' ? 'x264 veryfast, 2 B-frames' : 'x264 veryfast zerolatency, no B-frames',
      frames: d.count,
      'fps shown': round(kept.length / spanS, 1),
      'p50 ms': d.p50,
      'p95 ms': d.p95,
      'p99 ms': d.p99,
      'max ms': d.max,
      resolution: `${viewer.frameWidth}x${viewer.frameHeight}`,
      unreadable: viewer.unreadable,
      'frames not painted (pipe full)': clock.dropped(),
      'load 1m': `${round(load0, 1)}-${round(loadavg()[0]!, 1)}`,
      'p95 target': setting === 'bframes' ? '-' : d.p95 <= TARGET_P95_MS ? 'met' : 'MISSED',
    };
  } finally {
    clock.stop();
    await watchCtx.close().catch(() => {});
    pusher.child.stdin!.end();
    pusher.child.kill('SIGINT');
    const killer = setTimeout(() => pusher.child.kill('SIGKILL'), 3000);
    await pusher.exited;
    clearTimeout(killer);
    await waitFor('the stream to end', () => !node.media.isBroadcasting(s.id), 30_000).catch(() => {});
  }
}

async function main(): Promise<void> {
  const node = await startTestNode({ HLS_MODE: 'always', PUBLISHER_TIMEOUT_MS: '5000', SRT_LATENCY_MS: '20' });
  if (!node.srt) throw new Error('the node has no SRT listener (libsrt headers and a C compiler are needed)');
  const browser = await launchBrowser();
  const rows: Record<string, string | number>[] = [];
  try {
    for (const name of cases) rows.push(await measure(node, browser, name));
  } finally {
    await browser.close().catch(() => {});
    await node.close();
  }
  console.log(
    `\nGlass-to-glass RTMP/SRT -> WebRTC on loopback (clock frames -> ffmpeg -> node: contribution encoder -> mediasoup -> WHEP -> Chromium), ` +
      `${seconds} s per case, first ${warmupMs / 1000} s discarded; target p95 <= ${TARGET_P95_MS} ms with zerolatency\n`,
  );
  console.log(table(rows));
  console.log(`\n${JSON.stringify({ bench: 'ingest-g2g', machine: machine(), seconds, warmupSeconds: warmupMs / 1000, rows }, null, 2)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
