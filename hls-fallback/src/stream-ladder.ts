// One live stream's HLS/DASH pipeline on this node: PlainTransport consumers tap the stream's router
// and send RTP to loopback ports, ffprobe learns the source size, the ladder is chosen, and a
// supervised ffmpeg encodes it into CMAF tracks that feed the packager; the same ffmpeg writes a
// poster JPEG, which is the directory's thumbnail (so a stream has a thumbnail only where its ladder
// runs: on its origin node, and never with HLS_MODE=off). An RTMP/SRT source is not transcoded
// again: its contribution encoder already made the renditions (its WebRTC layers, written as CMAF
// too, from a single decode), and the encode stage only copies them to the packager (LayerCopy); a
// WHIP source is tapped and transcoded as above. Owns its transports, temp files, ffmpeg (or its
// copy's subscription) and packager, and releases them exactly once.
// Never serves HTTP: the packager it creates is read by the playback routes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { types } from 'mediasoup';
import type { Logger } from '@onair/platform';
import type { EncodedLadder } from '@onair/sfu';
import { ladderCommand, type EncodeSettings } from './encode/ffmpeg-args.js';
import { JpegSplitter } from './encode/jpeg-splitter.js';
import { chooseLadder, type LadderRung, type Rendition } from './encode/ladder.js';
import { LadderEncoder, type LadderEncoderHooks } from './encode/ladder-encoder.js';
import { LayerCopy, readCopiedLadder } from './encode/layer-copy.js';
import { ffmpegSdp, type SdpStream } from './encode/rtp-sdp.js';
import { probeRtpSource } from './encode/source-probe.js';
import { freeRtpPortPair } from './encode/udp-ports.js';
import type { PackagerTrack } from './package/cmaf-packager.js';

export interface LadderSettings extends EncodeSettings {
  rungs: LadderRung[];
  maxRenditions: number;
  ffmpegPath: string;
  ffprobePath: string;
  probeTimeoutMs: number;
  maxFailures: number;
}

/** What StreamLadder feeds: the CMAF packager (CmafPackager) in production. */
export interface CmafSink {
  write(track: number, chunk: Buffer): void;
  restart(): void;
  end(): void;
  close(): void;
}

export type LadderState = 'starting' | 'running' | 'failed' | 'ended';

export interface MediaSource {
  router: types.Router;
  producers: types.Producer[];
  /** Renditions that already exist (an RTMP/SRT contribution's): copied, not transcoded. */
  encodedLadder?: EncodedLadder;
}

export class StreamLadder<Sink extends CmafSink = CmafSink> {
  state: LadderState = 'starting';
  /** Why packaging failed (no key frame, codec ffmpeg cannot decode, ffmpeg keeps crashing). */
  failure: string | undefined;
  sink: Sink | undefined;
  ladder: Rendition[] = [];
  source: { width: number; height: number; codec: string } | undefined;
  poster: { jpeg: Buffer; at: number } | undefined;
  private readonly transports: types.PlainTransport[] = [];
  private readonly consumers: types.Consumer[] = [];
  private encoder: LadderEncoder | LayerCopy | undefined;
  private dir: string | undefined;
  private closed = false;
  private keyFrameTimer: NodeJS.Timeout | undefined;
  readonly ready: Promise<void>;

  constructor(
    readonly streamId: string,
    source: MediaSource,
    private readonly settings: LadderSettings,
    private readonly createSink: (tracks: PackagerTrack[]) => Sink,
    private readonly log: Logger,
  ) {
    this.log = log.child({ streamId });
    this.ready = this.setUp(source).catch((err: unknown) => this.fail(`setup failed: ${(err as Error).message}`));
  }

  private async setUp(source: MediaSource): Promise<void> {
    if (source.encodedLadder) return this.setUpCopy(source.encodedLadder);
    const video = source.producers.find((p) => p.kind === 'video');
    const audio = source.producers.find((p) => p.kind === 'audio');
    if (!video) return this.fail('the stream has no video track');
    this.dir = await mkdtemp(join(tmpdir(), 'onair-ladder-'));
    const streams: SdpStream[] = [];
    for (const producer of [video, audio]) {
      if (!producer || this.closed) continue;
      streams.push(await this.tap(source.router, producer));
    }
    if (this.closed) return;
    const sdpPath = join(this.dir, 'input.sdp');
    await writeFile(sdpPath, ffmpegSdp(streams));
    for (const c of this.consumers) await c.resume();
    this.requestKeyFrames();
    const probed = await probeRtpSource(sdpPath, this.settings.probeTimeoutMs, this.settings.ffprobePath);
    this.stopKeyFrames();
    if (this.closed) return;
    if (!probed?.video) {
      const codec = video.rtpParameters.codecs[0]?.mimeType ?? 'unknown';
      return this.fail(
        `no decodable video within ${this.settings.probeTimeoutMs} ms (codec ${codec}; no key frame, or a codec ffmpeg cannot decode)`,
      );
    }
    this.source = probed.video;
    this.ladder = chooseLadder(probed.video.height, this.settings.rungs, this.settings.maxRenditions);
    const hasAudio = Boolean(audio && probed.audio);
    const tracks: PackagerTrack[] = this.ladder.map((r) => ({ kind: 'video', name: r.name, bandwidth: r.videoBitrate }));
    if (hasAudio) tracks.push({ kind: 'audio', name: 'audio', bandwidth: this.settings.audioBitrate });
    this.sink = this.createSink(tracks);
    const command = ladderCommand(sdpPath, this.ladder, hasAudio, this.settings);
    this.encoder = new LadderEncoder(
      command,
      this.encoderHooks(true),
      { ffmpegPath: this.settings.ffmpegPath, maxFailures: this.settings.maxFailures, backoffMs: 500, maxBackoffMs: 10_000 },
      this.log,
    );
    this.encoder.start();
  }

  /** An RTMP/SRT source: the ladder is its contribution encoder's layers, remuxed there; nothing is tapped or encoded here. */
  private async setUpCopy(feed: EncodedLadder): Promise<void> {
    const copied = await readCopiedLadder(feed, this.settings.maxRenditions, this.settings.probeTimeoutMs);
    if (this.closed) return;
    if (typeof copied === 'string') return this.fail(copied);
    this.source = copied.source;
    this.ladder = copied.ladder;
    const tracks: PackagerTrack[] = this.ladder.map((r) => ({ kind: 'video', name: r.name, bandwidth: r.videoBitrate }));
    if (copied.hasAudio) tracks.push({ kind: 'audio', name: 'audio', bandwidth: this.settings.audioBitrate });
    this.sink = this.createSink(tracks);
    this.encoder = new LayerCopy(feed, copied, this.encoderHooks(false));
    this.encoder.start();
  }

  /** What the encode stage (ffmpeg's ladder, or the copy of existing layers) hands on. */
  private encoderHooks(keyFramesOnSpawn: boolean): LadderEncoderHooks {
    const posters = new JpegSplitter((jpeg) => (this.poster = { jpeg, at: Date.now() }));
    return {
      media: (track, chunk) => {
        if (this.state === 'starting') {
          this.state = 'running';
          this.stopKeyFrames();
          this.log.info(
            { ladder: this.ladder.map((r) => r.name), source: this.source, copied: !keyFramesOnSpawn },
            'HLS/DASH ladder running',
          );
        }
        this.sink?.write(track, chunk);
      },
      poster: (chunk) => posters.push(chunk),
      spawned: (restart) => {
        if (restart) {
          this.sink?.restart();
          this.state = 'starting';
        }
        // ffmpeg decodes nothing until a key frame; ask for some while it binds and starts.
        if (keyFramesOnSpawn) this.requestKeyFrames();
      },
      failed: (reason) => this.fail(`ffmpeg keeps failing: ${reason}`),
    };
  }

  /** ffmpeg's pid, for supervision tests and diagnostics. */
  get encoderPid(): number | undefined {
    return this.encoder?.pid;
  }

  private async tap(router: types.Router, producer: types.Producer): Promise<SdpStream> {
    const transport = await router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
    this.transports.push(transport);
    const port = await freeRtpPortPair();
    await transport.connect({ ip: '127.0.0.1', port, rtcpPort: port + 1 });
    const caps: types.RtpCapabilities = {
      codecs: (router.rtpCapabilities.codecs ?? [])
        .filter((c) => c.kind === producer.kind && !/\/rtx$/i.test(c.mimeType))
        .map((c) => ({ ...c, rtcpFeedback: [] })),
      headerExtensions: [],
    };
    const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: caps, paused: true });
    this.consumers.push(consumer);
    return { kind: producer.kind, port, rtpParameters: consumer.rtpParameters };
  }

  private requestKeyFrames(): void {
    this.stopKeyFrames();
    let n = 0;
    const ask = () => {
      for (const c of this.consumers) if (c.kind === 'video' && !c.closed) void c.requestKeyFrame().catch(() => {});
      if (++n < 15 && !this.closed) this.keyFrameTimer = setTimeout(ask, n < 3 ? 300 : 1000);
    };
    this.keyFrameTimer = setTimeout(ask, 200);
  }

  private stopKeyFrames(): void {
    if (this.keyFrameTimer) clearTimeout(this.keyFrameTimer);
    this.keyFrameTimer = undefined;
  }

  private fail(reason: string): void {
    if (this.closed || this.state === 'failed') return;
    this.state = 'failed';
    this.failure = reason;
    this.log.error({ reason }, 'HLS/DASH packaging failed for this stream');
    this.stopKeyFrames();
    void this.encoder?.stop();
    this.sink?.end();
  }

  /** The stream ended: stop ffmpeg, end the playlists (ENDLIST) but keep them readable until close(). */
  async end(): Promise<void> {
    if (this.state !== 'failed') this.state = 'ended';
    this.stopKeyFrames();
    await this.encoder?.stop();
    this.sink?.end();
    for (const t of this.transports) t.close();
  }

  /** Releases everything: ffmpeg, transports, temp files and the packager's memory. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.end();
    this.sink?.close();
    this.sink = undefined;
    this.poster = undefined;
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
