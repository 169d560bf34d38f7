// Prometheus gauges for the media plane, computed when /metrics is scraped (no timers of their own).
import { Gauge, type Registry } from 'prom-client';
import type { MediaPlane } from './media-plane.js';

/** The two bitrate gauges of one scrape share one sweep over every transport's stats. */
const BITRATE_REUSE_MS = 1000;

export function registerMediaMetrics(registry: Registry, plane: MediaPlane): void {
  let sweep: { atMs: number; result: ReturnType<MediaPlane['bitrates']> } | undefined;
  const bitrates = () => {
    if (!sweep || Date.now() - sweep.atMs > BITRATE_REUSE_MS) sweep = { atMs: Date.now(), result: plane.bitrates() };
    return sweep.result;
  };
  const gauge = (name: string, help: string, read: () => number | Promise<number>) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(await read());
      },
    });
  gauge('onair_mediasoup_workers', 'mediasoup workers running', () => plane.counts().workers);
  gauge('onair_live_streams', 'streams with a publisher on this node', () => plane.counts().streams);
  gauge('onair_producers', 'mediasoup producers (publisher tracks)', () => plane.counts().producers);
  gauge('onair_consumers', 'mediasoup consumers (viewer tracks)', () => plane.counts().consumers);
  gauge('onair_webrtc_viewers', 'WHEP viewer sessions', () => plane.counts().viewers);
  gauge('onair_bitrate_in_bps', 'bits per second received from publishers', async () => (await bitrates()).inBps);
  gauge('onair_bitrate_out_bps', 'bits per second sent to viewers', async () => (await bitrates()).outBps);
}
