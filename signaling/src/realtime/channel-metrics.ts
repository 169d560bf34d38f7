// Prometheus metrics of the real-time channel, read when /metrics is scraped (no timers of their own).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Bus } from '@onair/platform';
import type { ChannelGateway } from './gateway.js';

export function registerChannelMetrics(registry: Registry, gateway: ChannelGateway, bus: Bus): void {
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  // Counters that mirror a running total kept by the gateway.
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  gauge('onair_channel_connections', 'WebSocket channel connections on this node', () => gateway.connectionCount);
  gauge('onair_channel_streams', 'streams with at least one channel connection on this node', () => gateway.channelCount);
  gauge('onair_bus_connected', '1 when the bus (NATS or in-process) is connected', () => (bus.status === 'connected' ? 1 : 0));
  counter('onair_channel_frames_sent_total', 'frames written to channel sockets', () => gateway.writer.stats.framesSent);
  counter(
    'onair_channel_socket_writes_total',
    'socket writes to channel clients (one per viewer per delivery window carries all its frames)',
    () => gateway.writer.stats.writes,
  );
  counter(
    'onair_channel_frames_dropped_total',
    'frames not sent because the socket was too far behind',
    () => gateway.writer.stats.framesDropped,
  );
  counter(
    'onair_channel_slow_disconnects_total',
    'channel clients disconnected for being too slow',
    () => gateway.writer.stats.slowDisconnects,
  );
  counter('onair_channel_chat_batches_total', 'chat batches delivered (one encode each)', () => gateway.writer.stats.batches);
  counter(
    'onair_channel_reactions_accepted_total',
    "reactions from this node's clients counted into the aggregates",
    () => gateway.reactionsAccepted,
  );
  counter('onair_channel_reactions_refused_total', 'reactions refused by the per-connection limit', () => gateway.reactionsRefused);
  counter('onair_channel_flood_closes_total', 'channel clients closed for flooding', () => gateway.floodCloses);
}
