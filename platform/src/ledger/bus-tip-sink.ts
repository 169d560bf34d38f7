// Publishes TipEvents (protobuf onair.channel.v1.TipEvent) on the bus topic `streamTopics.tip`
// (onair.stream.<streamId>.tip), where the real-time gateways pick them up for the stream's viewers.
// Reports failure (so the outbox relay keeps the rows and retries) while the bus is not connected,
// and confirms delivery to the server with flush() before the relay deletes what it sent.
import type { Bus } from '../bus/bus.js';
import { streamTopics } from '../bus/topics.js';
import type { TipEvent, TipEventSink } from './tip-outbox.js';

export class BusTipSink implements TipEventSink {
  constructor(private readonly bus: Bus) {}

  async publish(streamId: string, event: TipEvent): Promise<void> {
    if (this.bus.status !== 'connected') throw new Error(`bus is ${this.bus.status}`);
    streamTopics.tip.publish(this.bus, streamId, event);
  }

  async flush(): Promise<void> {
    await this.bus.flush();
    if (this.bus.status !== 'connected') throw new Error(`bus is ${this.bus.status}`);
  }
}
