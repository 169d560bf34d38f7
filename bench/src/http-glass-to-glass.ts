// Glass-to-glass delay of the HTTP fallbacks on loopback: a real OnAir node with its HLS ladder,
// headless Chromium publishing a canvas that shows the wall clock over WHIP, and another page playing
// it with one HTTP player after another, reading the clock back from every presented frame: hls.js
// (LL-HLS in low-latency mode, and plain HLS), dash.js (low-latency DASH), Shaka Player (LL-HLS and
// DASH), video.js (HLS). hls.js and dash.js play the top rendition; Shaka and video.js choose their
// own. Prints p50/p95/max per player and protocol beside the player's own live-latency figure, as a
// table and as JSON. Knobs: G2G_SECONDS (30), G2G_WARMUP_SECONDS (8), G2G_RUNS (player:protocol,...),
// G2G_RECORDING (off; `on` records every stream into a temporary RECORDINGS_DIR, as a node does by default).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { launchBrowser } from '../../test/support/browser.js';
import { openBenchPage } from './bench-page.js';
import type { HttpKind, HttpPlayerName } from './g2g-page.js';
import { distribution, machine, round, table } from './report.js';

const seconds = Number(process.env.G2G_SECONDS ?? 30);
const warmupMs = Number(process.env.G2G_WARMUP_SECONDS ?? 8) * 1000;
const runs = (process.env.G2G_RUNS ?? 'hls.js:ll-hls,hls.js:hls,dash.js:dash,shaka:ll-hls,shaka:dash,video.js:hls').split(',').map((r) => {
  const [player, kind] = r.split(':') as [HttpPlayerName, HttpKind];
  return { player, kind };
});
const TARGET_MS: Record<HttpKind, number> = { 'll-hls': 2000, hls: 4000, dash: 3000 };

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

async function measure(player: HttpPlayerName, kind: HttpKind, node: Awaited<ReturnType<typeof startTestNode>>, browser: Browser) {
  const stream = await createUserAndStream(node.url, `g2g ${player} ${kind}`);
  const sendCtx = await browser.newContext({ viewport: { width: 700, height: 400 } });
  const watchCtx = await browser.newContext({ viewport: { width: 700, height: 400 } });
  try {
    const sender = await openBenchPage(sendCtx, node.url, 'sender');
    await sender.evaluate((o) => window.g2g!.startPublishing(o), {
      whipUrl: `${node.url}/whip/${stream.id}`,
      streamKey: stream.streamKey,
      videoCodec: 'h264' as const,
      audio: true,
    });
    await waitFor('the ladder to run', () => node.ladders?.get(stream.id)?.state === 'running', 30_000);
    // Join as a viewer a few seconds into the stream does: Shaka cannot load an LL-HLS playlist
    // that lists only a segment or two (docs/players.md, "Open"), and the figures are the steady state's.
    await waitFor(
      'three complete segments',
      () => (node.ladders?.sink(stream.id)?.tracks[0]?.timeline.segments.filter((s) => s.complete).length ?? 0) >= 3,
      30_000,
    );
    const url = kind === 'dash' ? `${node.url}/dash/${stream.id}/manifest.mpd` : `${node.url}/hls/${stream.id}/index.m3u8`;
    const watcher = await openBenchPage(watchCtx, node.url, 'watcher');
    await watcher.evaluate((o) => window.g2g!.startWatchingHttp(o), { url, kind, player });
    await watcher.waitForFunction(() => (document.querySelector('video')?.videoWidth ?? 0) > 0, undefined, { timeout: 30_000 });
    const firstFrameAt = Date.now();
    process.stderr.write(`[g2g] ${player} ${kind}: playing; sampling for ${seconds} s\n`);
    await watcher.waitForTimeout(seconds * 1000);
    const viewer = await watcher.evaluate(() => window.g2g!.viewerReport());
    await sender.evaluate(() => window.g2g!.stop());
    const kept = viewer.samples.filter((s) => s.shownAt >= firstFrameAt + warmupMs);
    const own = kept.map((s) => s.playerLatencyMs).filter((v): v is number => v !== undefined);
    // the player's figure against the picture's, frame by frame
    const gap = kept.filter((s) => s.playerLatencyMs !== undefined).map((s) => s.playerLatencyMs! - s.delayMs);
    return {
      player,
      kind,
      delayMs: distribution(kept.map((s) => s.delayMs)),
      playerLatencyMs: own.length ? distribution(own) : undefined,
      playerMinusPictureMs: gap.length ? distribution(gap) : undefined,
      heights: [...new Set(viewer.renditionSwitches.map((s) => s.height))],
      switches: Math.max(0, viewer.renditionSwitches.length - 1),
      errors: viewer.playerErrors,
      unreadable: viewer.unreadable,
      ladder: node.ladders?.get(stream.id)?.ladder.map((r) => r.name),
    };
  } finally {
    await watchCtx.close().catch(() => {});
    await sendCtx.close().catch(() => {});
  }
}

async function main(): Promise<void> {
  const recordings = process.env.G2G_RECORDING === 'on' ? mkdtempSync(join(tmpdir(), 'onair-g2g-rec-')) : undefined;
  const node = await startTestNode({
    HLS_MODE: 'always',
    PUBLISHER_TIMEOUT_MS: '10000',
    ...(recordings ? { RECORDINGS_DIR: recordings } : {}),
  });
  const browser = await launchBrowser();
  const results: Awaited<ReturnType<typeof measure>>[] = [];
  try {
    for (const r of runs) results.push(await measure(r.player, r.kind, node, browser));
  } finally {
    await browser.close().catch(() => {});
    await node.close();
    if (recordings) rmSync(recordings, { recursive: true, force: true });
  }
  console.log(
    `\nGlass-to-glass over HTTP on loopback (Chromium canvas -> WHIP -> mediasoup -> ffmpeg ladder -> packager -> player), ${seconds} s each, first ${warmupMs / 1000} s discarded, recording ${recordings ? 'on' : 'off'}\n`,
  );
  console.log(
    table(
      results.map((r) => ({
        player: r.player,
        protocol: r.kind,
        frames: r.delayMs.count,
        'p50 ms': round(r.delayMs.p50, 0),
        'p95 ms': round(r.delayMs.p95, 0),
        'max ms': round(r.delayMs.max, 0),
        'player says p50 ms': r.playerLatencyMs ? round(r.playerLatencyMs.p50, 0) : '-',
        'says - picture p50 ms': r.playerMinusPictureMs ? round(r.playerMinusPictureMs.p50, 0) : '-',
        renditions: r.heights.join('/'),
        switches: r.switches,
        errors: r.errors.length,
        unreadable: r.unreadable,
        'target ms': TARGET_MS[r.kind],
        'p50 target': r.delayMs.p50 <= TARGET_MS[r.kind] ? 'met' : 'MISSED',
      })),
    ),
  );
  console.log(
    `\n${JSON.stringify({ bench: 'http-glass-to-glass', machine: machine(), seconds, warmupSeconds: warmupMs / 1000, results }, null, 2)}`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
