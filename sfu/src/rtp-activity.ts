// Watches the RTP a transport receives, for sessions whose only sign of life is media itself: a
// publisher (ICE consent checks and RTCP keep arriving after its media stopped) and a relay's pipe
// (no ICE at all). Polls the transport's received RTP bytes every 500 ms; says when they grew and
// when they have not grown for `silenceMs`. Owned by its session, which stops it on close; it never
// closes anything itself.
import type { types } from 'mediasoup';

const POLL_MS = 500;

export interface RtpActivityEvents {
  /** RTP bytes grew since the last poll. */
  onFlow(): void;
  /** No RTP for longer than silenceMs (since creation, the last touch() or the last RTP). */
  onSilent(): void;
}

export class RtpActivityWatch {
  private readonly timer: NodeJS.Timeout;
  private lastBytes = 0;
  private lastActivityAt = Date.now();
  private stopped = false;

  constructor(
    private readonly transport: types.Transport,
    private readonly silenceMs: number,
    private readonly events: RtpActivityEvents,
  ) {
    this.timer = setInterval(() => void this.poll(), POLL_MS);
  }

  /** Restarts the silence clock (the transport just connected or was attached). */
  touch(): void {
    this.lastActivityAt = Date.now();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    let bytes = 0;
    try {
      const [stats] = await this.transport.getStats();
      bytes = (stats as { rtpBytesReceived?: number } | undefined)?.rtpBytesReceived ?? 0;
    } catch {
      return; // the transport is closing
    }
    const now = Date.now();
    if (bytes > this.lastBytes) {
      this.lastBytes = bytes;
      this.lastActivityAt = now;
      this.events.onFlow();
    } else if (now - this.lastActivityAt > this.silenceMs) {
      this.events.onSilent();
    }
  }
}
