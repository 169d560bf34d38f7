// Glass-to-glass delay of the HTTP fallbacks on loopback: a real OnAir node with its HLS ladder,
// headless Chromium publishing a canvas that shows the wall clock over WHIP, and another page playing
// LL-HLS (hls.js low-latency mode), plain HLS (hls.js, parts ignored) or low-latency DASH (dash.js) at
// the top rendition, reading the clock back from every presented frame. Prints p50/p95/max per
// protocol as a table and as JSON. Knobs: G2G_SECONDS (30), G2G_WARMUP_SECONDS (8), G2G_KINDS.
import type { Browser } from 'playwright-core';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { launchBrowser } from '../../test/support/browser.js';
import { openBenchPage } from './bench-page.js';
import { distribution, machine, round, table } from './report.js';

type Kind = 'll-hls' | 'hls' | 'dash';
const seconds = Number(process.env.G2G_SECONDS ?? 30);
const warmupMs = Number(process.env.G2G_WARMUP_SECONDS ?? 8) * 1000;
const kinds = (process.env.G2G_KINDS ?? 'll-hls,hls,dash').split(',') as Kind[];
const TARGET_MS: Record<Kind, number> = { 'll-hls': 2000, hls: 4000, dash: 3000 };

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

async function measure(kind: Kind, node: Awaited<ReturnType<typeof startTestNode>>, browser: Browser) {
  const stream = await createUserAndStream(node.url, `g2g ${kind}`);
  const sendCtx = await browser.newContext({ viewport: { width: 700, height: 400 } });
  const watchCtx = await browser.newContext({ viewport: { width: 700, height: 400 } });
  try {
    const sender = await openBenchPage(sendCtx, node.url, 'sender');
    await sender.evaluate((o) => window.g2g!.startPublishing(o), { whipUrl: `${node.url}/whip/${stream.id}`, streamKey: stream.streamKey, videoCodec: 'h264' as const, audio: true });
    await waitFor('the ladder to run', () => node.packagers?.get(stream.id)?.state === 'running', 30_000);
    const url = kind === 'dash' ? `${node.url}/dash/${stream.id}/manifest.mpd` : `${node.url}/hls/${stream.id}/index.m3u8`;
    const watcher = await openBenchPage(watchCtx, node.url, 'watcher');
    await watcher.evaluate((o) => window.g2g!.startWatchingHttp(o), { url, kind });
    await watcher.waitForFunction(() => (document.querySelector('video')?.videoWidth ?? 0) > 0, undefined, { timeout: 30_000 });
    const firstFrameAt = Date.now();
    process.stderr.write(`[g2g] ${kind}: playing; sampling for ${seconds} s\n`);
    await watcher.waitForTimeout(seconds * 1000);
    const viewer = await watcher.evaluate(() => window.g2g!.viewerReport());
    await sender.evaluate(() => window.g2g!.stop());
    const kept = viewer.samples.filter((s) => s.shownAt >= firstFrameAt + warmupMs);
    return { kind, delayMs: distribution(kept.map((s) => s.delayMs)), unreadable: viewer.unreadable, ladder: node.packagers?.get(stream.id)?.ladder.map((r) => r.name), fatal: viewer.connectionState };
  } finally {
    await watchCtx.close().catch(() => {});
    await sendCtx.close().catch(() => {});
  }
}

async function main(): Promise<void> {
  const node = await startTestNode({ HLS_MODE: 'always', PUBLISHER_TIMEOUT_MS: '10000' });
  const browser = await launchBrowser();
  const results: Awaited<ReturnType<typeof measure>>[] = [];
  try {
    for (const kind of kinds) results.push(await measure(kind, node, browser));
  } finally {
    await browser.close().catch(() => {});
    await node.close();
  }
  console.log(`\nGlass-to-glass over HTTP on loopback (Chromium canvas -> WHIP -> mediasoup -> ffmpeg ladder -> packager -> player), ${seconds} s each, first ${warmupMs / 1000} s discarded\n`);
  console.log(
    table(
      results.map((r) => ({
        protocol: r.kind,
        frames: r.delayMs.count,
        'p50 ms': round(r.delayMs.p50, 0),
        'p95 ms': round(r.delayMs.p95, 0),
        'max ms': round(r.delayMs.max, 0),
        unreadable: r.unreadable,
        'target ms': TARGET_MS[r.kind],
        'p50 target': r.delayMs.p50 <= TARGET_MS[r.kind] ? 'met' : 'MISSED',
      })),
    ),
  );
  console.log('\n' + JSON.stringify({ bench: 'http-glass-to-glass', machine: machine(), seconds, warmupSeconds: warmupMs / 1000, results }, null, 2));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
