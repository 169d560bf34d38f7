// Glass-to-glass delay over WebRTC on loopback: a real OnAir node (embedded storage, one mediasoup
// worker), headless Chromium publishing a canvas that shows the wall clock over WHIP, and another
// browser context playing it over WHEP and reading the clock back from every presented frame, both
// through the client SDK. Prints count/p50/p95/p99/max per codec as a table and as JSON.
// Knobs (environment): G2G_SECONDS (30), G2G_WARMUP_SECONDS (3), G2G_CODECS (h264,vp8), G2G_AUDIO (1).
import type { VideoCodec } from '@onair/client-sdk';
import { createUserAndStream, startTestNode } from '../../test/support/onair-node.js';
import { launchBrowser } from '../../test/support/browser.js';
import { openBenchPage } from './bench-page.js';
import type { PublisherReport, ViewerReport } from './g2g-page.js';
import { distribution, machine, round, table } from './report.js';

const seconds = Number(process.env.G2G_SECONDS ?? 30);
const warmupMs = Number(process.env.G2G_WARMUP_SECONDS ?? 3) * 1000;
const codecs = (process.env.G2G_CODECS ?? 'h264,vp8').split(',') as VideoCodec[];
const withAudio = process.env.G2G_AUDIO !== '0';
const TARGET_P95_MS = 300;

// Ctrl-C or a timeout still runs the 'exit' hooks that kill what the bench started (Chromium, the worker).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

interface CodecResult {
  codec: VideoCodec;
  delayMs: ReturnType<typeof distribution>;
  receiveToShowMs: ReturnType<typeof distribution> | undefined;
  unreadableFrames: number;
  framesPerSecond: number;
  viewer: Omit<ViewerReport, 'samples'>;
  publisher: PublisherReport;
}

async function measure(codec: VideoCodec, nodeUrl: string, browser: Awaited<ReturnType<typeof launchBrowser>>): Promise<CodecResult> {
  const stream = await createUserAndStream(nodeUrl, `g2g ${codec}`);
  const sendCtx = await browser.newContext({ viewport: { width: 700, height: 400 } });
  const watchCtx = await browser.newContext({ viewport: { width: 700, height: 400 } });
  try {
    const sender = await openBenchPage(sendCtx, nodeUrl, 'sender');
    await sender.evaluate((o) => window.g2g!.startPublishing(o), {
      whipUrl: `${nodeUrl}/whip/${stream.id}`,
      streamKey: stream.streamKey,
      videoCodec: codec,
      audio: withAudio,
    });
    const watcher = await openBenchPage(watchCtx, nodeUrl, 'watcher');
    await watcher.evaluate((o) => window.g2g!.startWatching(o), { whepUrl: `${nodeUrl}/whep/${stream.id}`, timeoutMs: 15_000 });
    await watcher
      .waitForFunction(() => document.querySelector('video')!.videoWidth > 0, undefined, { timeout: 15_000 })
      .catch(async (err) => {
        const { samples: _s, ...seen } = await watcher.evaluate(() => window.g2g!.viewerReport());
        if (process.env.G2G_DEBUG) console.error(JSON.stringify(await watcher.evaluate(() => window.g2g!.viewerDiagnostics()), null, 1));
        console.error(
          `[g2g] ${codec}: no picture; sender ${JSON.stringify(await sender.evaluate(() => window.g2g!.publisherReport()))}, viewer ${JSON.stringify(seen)}`,
        );
        throw err;
      });
    const firstFrameAt = Date.now();
    process.stderr.write(`[g2g] ${codec}: playing; sampling for ${seconds} s\n`);
    await watcher.waitForTimeout(seconds * 1000);
    const viewer = await watcher.evaluate(() => window.g2g!.viewerReport());
    const publisher = await sender.evaluate(() => window.g2g!.publisherReport());
    await watcher.evaluate(() => window.g2g!.stop());
    await sender.evaluate(() => window.g2g!.stop());

    const kept = viewer.samples.filter((s) => s.shownAt >= firstFrameAt + warmupMs);
    const spanS = kept.length > 1 ? (kept[kept.length - 1]!.shownAt - kept[0]!.shownAt) / 1000 : NaN;
    const r2s = kept.map((s) => s.receiveToShowMs).filter((v): v is number => v !== undefined);
    const { samples: _samples, ...viewerRest } = viewer;
    return {
      codec,
      delayMs: distribution(kept.map((s) => s.delayMs)),
      receiveToShowMs: r2s.length ? distribution(r2s) : undefined,
      unreadableFrames: viewer.unreadable,
      framesPerSecond: round(kept.length / spanS, 1),
      viewer: viewerRest,
      publisher,
    };
  } finally {
    await watchCtx.close().catch(() => {});
    await sendCtx.close().catch(() => {});
  }
}

async function main(): Promise<void> {
  const node = await startTestNode({ PUBLISHER_TIMEOUT_MS: '10000' });
  const browser = await launchBrowser();
  const results: CodecResult[] = [];
  try {
    for (const codec of codecs) results.push(await measure(codec, node.url, browser));
  } finally {
    await browser.close().catch(() => {});
    await node.close();
  }
  console.log(
    `\nGlass-to-glass over WebRTC on loopback (Chromium canvas -> WHIP -> mediasoup -> WHEP -> Chromium), ` +
      `${seconds} s per codec, first ${warmupMs / 1000} s discarded; target p95 <= ${TARGET_P95_MS} ms\n`,
  );
  console.log(
    table(
      results.map((r) => ({
        codec: r.codec,
        frames: r.delayMs.count,
        'fps shown': r.framesPerSecond,
        'p50 ms': r.delayMs.p50,
        'p95 ms': r.delayMs.p95,
        'p99 ms': r.delayMs.p99,
        'max ms': r.delayMs.max,
        'recv->shown p50 ms': r.receiveToShowMs ? round(r.receiveToShowMs.p50) : '-',
        'jitter buf ms': r.viewer.jitterBufferMs === undefined ? '-' : round(r.viewer.jitterBufferMs),
        resolution: `${r.viewer.frameWidth}x${r.viewer.frameHeight}`,
        unreadable: r.unreadableFrames,
        'p95 target': r.delayMs.p95 <= TARGET_P95_MS ? 'met' : 'MISSED',
      })),
    ),
  );
  console.log(
    '\n' +
      JSON.stringify(
        { bench: 'glass-to-glass', machine: machine(), seconds, warmupSeconds: warmupMs / 1000, audio: withAudio, results },
        null,
        2,
      ),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
