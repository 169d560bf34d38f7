// Prometheus gauges for the media plane, computed when /metrics is scraped (no timers of their own).
import { Gauge, type Registry } from 'prom-client';
import type { MediaPlane } from './media-plane.js';

export function registerMediaMetrics(registry: Registry, plane: MediaPlane): void {
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
  gauge('onair_bitrate_in_bps', 'bits per second received from publishers', async () => (await plane.bitrates()).inBps);
  gauge('onair_bitrate_out_bps', 'bits per second sent to viewers', async () => (await plane.bitrates()).outBps);
}
