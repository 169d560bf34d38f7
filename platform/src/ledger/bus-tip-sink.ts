// Publishes TipEvents (protobuf onair.channel.v1.TipEvent) on the bus subject
// `onair.stream.<streamId>.tip`, where the real-time gateways pick them up for the stream's viewers.
// Reports failure (so the outbox relay keeps the rows and retries) while the bus is not connected,
// and confirms delivery to the server with flush() before the relay deletes what it sent.
import { onair } from '@onair/proto';
import { isSubjectToken, type Bus } from '../bus/bus.js';
import type { TipEvent, TipEventSink } from './tip-outbox.js';

export function tipSubject(streamId: string): string {
  if (!isSubjectToken(streamId)) throw new Error(`stream id not usable in a subject: ${JSON.stringify(streamId)}`);
  return `onair.stream.${streamId}.tip`;
}

export function encodeTipEvent(event: TipEvent): Uint8Array {
  return onair.channel.v1.TipEvent.encode(event).finish();
}

export class BusTipSink implements TipEventSink {
  constructor(private readonly bus: Bus) {}

  async publish(streamId: string, event: TipEvent): Promise<void> {
    if (this.bus.status !== 'connected') throw new Error(`bus is ${this.bus.status}`);
    this.bus.publish(tipSubject(streamId), encodeTipEvent(event));
  }

  async flush(): Promise<void> {
    await this.bus.flush();
    if (this.bus.status !== 'connected') throw new Error(`bus is ${this.bus.status}`);
  }
}
