// The origin process of the packager bench: a live ffmpeg ladder (the product's per-output
// arguments) written into a CmafPackager, served by Fastify with the product's error handler, CORS
// and playback routes on port 0. Runs as a child of packager.ts so its CPU (utime+stime) is the
// origin's alone; ffmpeg is its own process and is not counted. Tells the parent its URL over IPC,
// and stops (ffmpeg, packager, server) when the parent says so or goes away.
import Fastify from 'fastify';
import { createLogger } from '@onair/platform';
import { CmafPackager, PlaybackOrigin } from '@onair/hls-fallback';
import { installCors, installErrorHandler, registerPlaybackRoutes } from '@onair/signaling';
import { LiveEncoder, tracksOf, type Rendition } from '../../hls-fallback/test/support/encoder.js';

export const BENCH_LADDER: Rendition[] = [
  { name: '720p', height: 720, kbps: 2500 },
  { name: '360p', height: 360, kbps: 800 },
];

async function main(): Promise<void> {
  const packager = new CmafPackager('bench', tracksOf(BENCH_LADDER), { partTargetMs: 200, segmentTargetMs: 1000, windowSegments: 8 });
  const encoder = new LiveEncoder(packager, BENCH_LADDER).start();
  const app = Fastify();
  installErrorHandler(app, createLogger('silent'));
  installCors(app);
  registerPlaybackRoutes(app, { origin: new PlaybackOrigin({ get: (id) => (id === 'bench' ? packager : undefined) }) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  await packager.waitUntil(() => packager.tracks.every((t) => t.timeline.segments.length >= 2), 20_000);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await encoder.stop();
    packager.close();
    await app.close();
    process.exit(0);
  };
  process.on('message', (m) => m === 'stop' && void stop());
  process.on('disconnect', () => void stop());
  process.send!({ url: `http://127.0.0.1:${port}` });
}

void main();
