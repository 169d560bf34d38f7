// A publisher that is not a WebRTC peer (RTMP and SRT contributions, re-encoded by a local ffmpeg):
// two loopback PlainTransports in comedia mode (they learn ffmpeg's address from its first packet)
// and one Producer each: H.264 constrained baseline as ONE simulcast producer of `VIDEO_LAYERS`
// layers (one SSRC each, lowest first, all sent from one socket), so WebRTC viewers get mediasoup's
// BWE-driven layer switching whatever the encoder sent, and Opus; payload types and SSRCs are
// fixed here and the encoder is told to use them. Like the WHIP IngestSession it says when media first arrives and
// closes itself when RTP stops for the publisher timeout, so the LiveStream above it treats both
// the same. Owns its transports (and through them its producers) and the EncodedLadder its encoders
// write the HLS renditions into; never spawns or kills the encoder.
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { EncodedLadder } from './ingest/encoded-ladder.js';
import { newId } from './rtc-session.js';
import { RtpActivityWatch } from './rtp-activity.js';

/** Where and how the encoder must send one kind of RTP (RTCP goes to the same port). */
export interface RtpTarget {
  ip: string;
  port: number;
  payloadType: number;
  ssrc: number;
}

/** One simulcast layer the encoder makes: its height (a cap on the source's) and bitrate. */
export interface VideoLayer {
  ssrc: number;
  /** The layer's picture height as a share of the top layer's (1 for the top layer). */
  scale: number;
  maxBitrate: number;
}

/** The layers of a re-encoded contribution, lowest first (mediasoup's spatial layer order). */
export const VIDEO_LAYERS: { scale: number; maxBitrate: number }[] = [
  { scale: 1 / 2, maxBitrate: 500_000 },
  { scale: 2 / 3, maxBitrate: 1_100_000 },
  { scale: 1, maxBitrate: 2_500_000 },
];
/** The top layer's height at most (sources above it are scaled down). */
export const TOP_LAYER_MAX_HEIGHT = 720;

export interface RtpIngestOptions {
  /** The address the encoder reaches the transports on (it runs on this machine). */
  listenIp: string;
  publisherTimeoutMs: number;
}

/** What the re-encoder produces: browsers decode it and WebRTC can carry it (no B-frames). */
export const RTP_INGEST_H264_PROFILE = '42e01f';
/**
 * Before its first packet the encoder gets at least this long: ffmpeg needs about 2 s (measured on
 * 2 cores) from its first input byte to its first RTP packet, longer on a busy machine.
 */
const STARTUP_GRACE_MS = 15_000;
/** How long a flowing stream waits for its top layer before going live without it. */
const TOP_LAYER_WAIT_MS = 5000;
const VIDEO_PT = 102;
const AUDIO_PT = 111;

export class RtpIngestSession extends EventEmitter<{ closed: [reason: string] }> {
  readonly id = newId();
  readonly producers: types.Producer[] = [];
  /** The HLS/DASH renditions the contribution encoder writes (from the same encode as the layers). */
  readonly encodedLadder = new EncodedLadder();
  onFirstMedia: () => void = () => {};
  private mediaSeen = false;
  private _closed = false;
  private readonly openedAt = Date.now();
  private firstFlowAt: number | undefined;
  private restartGraceUntil = 0;
  private readonly activity: RtpActivityWatch;

  private constructor(
    readonly transports: types.PlainTransport[],
    readonly video: RtpTarget,
    /** Video layers, lowest first; `video.ssrc` is the top layer's. */
    readonly layers: VideoLayer[],
    readonly audio: RtpTarget,
    opts: RtpIngestOptions,
  ) {
    super();
    // Video is what makes a stream watchable; its silence is the publisher's.
    this.activity = new RtpActivityWatch(transports[0]!, opts.publisherTimeoutMs, {
      onFlow: () => void this.noticeFirstMedia(),
      onSilent: () => {
        if (!this.mediaSeen && Date.now() - this.openedAt < STARTUP_GRACE_MS) return;
        if (Date.now() < this.restartGraceUntil) return;
        this.close(this.mediaSeen ? 'publisher_timeout' : 'encoder_sent_nothing');
      },
    });
    for (const t of transports) t.observer.once('close', () => this.close('transport_closed'));
  }

  static async open(router: types.Router, opts: RtpIngestOptions): Promise<RtpIngestSession> {
    const transports: types.PlainTransport[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        // No RTCP mux: ffmpeg sends RTCP from a socket of its own, and a muxed comedia transport
        // would lock onto whichever of the two sockets spoke first (measured: RTCP, so RTP was dropped).
        transports.push(
          await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: opts.listenIp }, rtcpMux: false, comedia: true }),
        );
      }
      const [vt, at] = transports as [types.PlainTransport, types.PlainTransport];
      const target = (t: types.PlainTransport, payloadType: number): RtpTarget => ({
        ip: opts.listenIp,
        port: t.tuple.localPort,
        payloadType,
        ssrc: randomInt(16, 2 ** 31 - 16),
      });
      const video = target(vt, VIDEO_PT);
      const audio = target(at, AUDIO_PT);
      const layers = VIDEO_LAYERS.map((l, i) => ({ ...l, ssrc: i === VIDEO_LAYERS.length - 1 ? video.ssrc : video.ssrc + 1 + i }));
      const session = new RtpIngestSession(transports, video, layers, audio, opts);
      const cname = session.id;
      session.producers.push(
        await vt.produce({
          kind: 'video',
          rtpParameters: {
            codecs: [
              {
                mimeType: 'video/H264',
                payloadType: VIDEO_PT,
                clockRate: 90000,
                parameters: { 'packetization-mode': 1, 'profile-level-id': RTP_INGEST_H264_PROFILE, 'level-asymmetry-allowed': 1 },
                rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
              },
            ],
            encodings: layers.map((l) => ({ ssrc: l.ssrc, maxBitrate: l.maxBitrate })),
            rtcp: { cname },
          },
        }),
        await at.produce({
          kind: 'audio',
          rtpParameters: {
            codecs: [{ mimeType: 'audio/opus', payloadType: AUDIO_PT, clockRate: 48000, channels: 2, rtcpFeedback: [] }],
            encodings: [{ ssrc: audio.ssrc }],
            rtcp: { cname },
          },
        }),
      );
      return session;
    } catch (err) {
      for (const t of transports) t.close();
      throw err;
    }
  }

  get closed(): boolean {
    return this._closed;
  }

  /**
   * Live once the top layer flows with a score: taps that start on 'live' (the HLS ladder's, which
   * sizes its rungs from the first frames it probes) then get the top layer, not whichever came first.
   */
  private async noticeFirstMedia(): Promise<void> {
    if (this.mediaSeen || this._closed) return;
    this.firstFlowAt ??= Date.now();
    const video = this.producers.find((p) => p.kind === 'video');
    const stats = video ? await video.getStats().catch(() => []) : [];
    const top = stats.find((st) => st.ssrc === this.video.ssrc);
    // A top layer that never scores must not keep a flowing stream offline: live anyway after a while.
    const waited = Date.now() - this.firstFlowAt > TOP_LAYER_WAIT_MS;
    if ((!top || top.score <= 0) && !waited) return;
    if (this.mediaSeen || this._closed) return;
    this.mediaSeen = true;
    this.onFirstMedia();
  }

  /** Restarts the silence clock (the encoder was just started and needs a moment to send). */
  touch(): void {
    this.activity.touch();
  }

  /** A new encoder takes over (the publisher reconnected): it gets the start-up grace again. */
  encoderRestarted(): void {
    this.restartGraceUntil = Date.now() + STARTUP_GRACE_MS;
    this.activity.touch();
  }

  async rtpBytesReceived(): Promise<number> {
    let bytes = 0;
    for (const t of this.transports) {
      const [s] = await t.getStats().catch(() => []);
      bytes += s?.rtpBytesReceived ?? 0;
    }
    return bytes;
  }

  close(reason: string): void {
    if (this._closed) return;
    this._closed = true;
    this.activity.stop();
    for (const t of this.transports) if (!t.closed) t.close();
    this.encodedLadder.close();
    this.emit('closed', reason);
    this.removeAllListeners();
  }
}
