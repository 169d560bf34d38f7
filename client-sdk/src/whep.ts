// Playing an OnAir stream over WHEP (playWhep): recvonly audio and video, the SDP exchange, and the received
// MediaStream attached to a <video> element. The Player owns its RTCPeerConnection and its session on
// the server; it notices when the stream ends (connection failed or closed, DTLS closed by the server,
// tracks ended, or no media for `mediaTimeoutMs`), releases both, and tells its onEnded listeners once.
import { trickleLateCandidates, waitForIceGathering } from './ice.js';
import { Listeners } from './listeners.js';
import { postOffer, type SessionResource } from './sdp-exchange.js';

export interface WhepOptions {
  /** The stream's WHEP endpoint (`playback.whep`), e.g. `https://host/whep/<id>`. */
  whepUrl: string;
  /** Where to show the stream; it is set muted, autoplay and playsInline. */
  video: HTMLVideoElement;
  iceServers?: RTCIceServer[];
  /** How long to wait for ICE gathering before sending the offer and trickling the rest. Default 2000. */
  iceGatheringTimeoutMs?: number;
  /**
   * Once connected, the stream counts as ended when no RTP arrives for this long (a publisher that
   * vanished without the server telling viewers). Default 10000; 0 disables the check.
   */
  mediaTimeoutMs?: number;
}

export type EndReason = 'connection_failed' | 'connection_closed' | 'tracks_ended' | 'media_timeout';

export interface Player {
  readonly pc: RTCPeerConnection;
  /** The WHEP session resource (the POST's `Location`, absolute). */
  readonly sessionUrl: string;
  /** The received tracks, as attached to the video element. */
  readonly stream: MediaStream;
  /** Why the stream ended, once it has; undefined while playing or after stop(). */
  readonly endReason: EndReason | undefined;
  /** Leaves the stream: DELETE the session, close the connection, detach the video. Idempotent. */
  stop(): Promise<void>;
  /**
   * Calls `listener` once when the stream ends on the far side (not after stop()); immediately if it
   * already has. Returns an unsubscribe.
   */
  onEnded(listener: (reason: EndReason) => void): () => void;
}

const STATS_INTERVAL_MS = 1000;

/** @deprecated use WhepOptions (PlayerOptions is for play(), which falls back to HLS/DASH). */
export type PlayOptions = WhepOptions;

/** Plays over WHEP only (no fallback); `play()` in player.ts wraps this with HLS/DASH fallback. */
export async function playWhep(opts: WhepOptions): Promise<Player> {
  const pc = new RTCPeerConnection({ iceServers: opts.iceServers ?? [], bundlePolicy: 'max-bundle' });
  const stream = new MediaStream();
  pc.addEventListener('track', (ev) => {
    if (!stream.getTrackById(ev.track.id)) stream.addTrack(ev.track);
  });
  let session: SessionResource | undefined;
  try {
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const gathered = await waitForIceGathering(pc, opts.iceGatheringTimeoutMs ?? 2000);
    const offer = pc.localDescription!.sdp;
    const exchange = await postOffer(opts.whepUrl, offer, undefined);
    session = exchange.session;
    await pc.setRemoteDescription({ type: 'answer', sdp: exchange.answer });
    const stopTrickle = gathered ? () => {} : trickleLateCandidates(pc, offer, session, () => {});
    return new WhepPlayer(pc, session, stream, opts.video, opts.mediaTimeoutMs ?? 10_000, stopTrickle);
  } catch (err) {
    pc.close();
    await session?.delete().catch(() => {});
    throw err;
  }
}

class WhepPlayer implements Player {
  endReason: EndReason | undefined;
  private readonly endedListeners = new Listeners<[EndReason]>();
  private finished = false;
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private lastBytes = -1;
  private lastProgressAt = 0;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    readonly pc: RTCPeerConnection,
    private readonly session: SessionResource,
    readonly stream: MediaStream,
    private readonly video: HTMLVideoElement,
    private readonly mediaTimeoutMs: number,
    stopTrickle: () => void,
  ) {
    this.cleanups.push(stopTrickle);
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.srcObject = stream;
    video.play().catch(() => {}); // autoplay may be refused; the element's controls still work
    this.watch(pc, 'connectionstatechange', () => {
      if (pc.connectionState === 'failed') this.end('connection_failed');
      else if (pc.connectionState === 'closed') this.end('connection_closed');
      else if (pc.connectionState === 'connected') this.startMediaWatch();
    });
    this.watch(pc, 'iceconnectionstatechange', () => {
      if (pc.iceConnectionState === 'failed') this.end('connection_failed');
      else if (pc.iceConnectionState === 'closed') this.end('connection_closed');
    });
    // The server closing the session sends a DTLS close_notify; the transport reports `closed`.
    const dtls = pc.getReceivers()[0]?.transport;
    if (dtls) {
      this.watch(dtls, 'statechange', () => {
        if (dtls.state === 'closed') this.end('connection_closed');
        else if (dtls.state === 'failed') this.end('connection_failed');
      });
    }
    for (const track of stream.getTracks()) {
      this.watch(track, 'ended', () => {
        if (stream.getTracks().every((t) => t.readyState === 'ended')) this.end('tracks_ended');
      });
    }
    if (pc.connectionState === 'connected') this.startMediaWatch();
  }

  get sessionUrl(): string {
    return this.session.url;
  }

  onEnded(listener: (reason: EndReason) => void): () => void {
    if (this.endReason) {
      const reason = this.endReason;
      queueMicrotask(() => listener(reason));
      return () => {};
    }
    return this.endedListeners.add(listener);
  }

  async stop(): Promise<void> {
    this.endedListeners.clear();
    this.video.srcObject = null;
    await this.release();
  }

  private end(reason: EndReason): void {
    if (this.finished) return;
    this.endReason = reason;
    void this.release();
    this.endedListeners.emit(reason);
    this.endedListeners.clear();
  }

  /** Releases the server session and the connection, once; keeps the last picture on screen. */
  private async release(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.statsTimer);
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.pc.close();
    await this.session.delete().catch(() => {}); // the server may have ended it already
  }

  private startMediaWatch(): void {
    if (this.statsTimer !== undefined || this.mediaTimeoutMs <= 0 || this.finished) return;
    this.lastProgressAt = Date.now();
    this.statsTimer = setInterval(() => void this.checkMedia(), STATS_INTERVAL_MS);
  }

  private async checkMedia(): Promise<void> {
    let bytes = 0;
    try {
      const stats = await this.pc.getStats();
      stats.forEach((s: { type: string; bytesReceived?: number }) => {
        if (s.type === 'inbound-rtp') bytes += s.bytesReceived ?? 0;
      });
    } catch {
      return; // closed meanwhile
    }
    const now = Date.now();
    if (bytes !== this.lastBytes) {
      this.lastBytes = bytes;
      this.lastProgressAt = now;
    } else if (now - this.lastProgressAt >= this.mediaTimeoutMs) {
      this.end('media_timeout');
    }
  }

  private watch(target: EventTarget, type: string, fn: () => void): void {
    target.addEventListener(type, fn);
    this.cleanups.push(() => target.removeEventListener(type, fn));
  }
}
