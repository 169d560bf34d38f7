// Browser side of the glass-to-glass bench, loaded as an ES module by the bench's page (served from
// the node's own origin by the bench, see glass-to-glass.ts). The sending page paints the wall clock
// into a canvas and publishes its captureStream over WHIP with the client SDK; the watching page plays
// over WHEP with the client SDK and, on every frame the video element presents, reads the clock back
// from the pixels. Both pages run in one browser, so they share one clock. Never talks to the node
// except through the SDK.
import { playWhep, publish, type Player, type Publisher, type VideoCodec } from '@onair/client-sdk';
import { FRAME_HEIGHT, FRAME_WIDTH, paintTimecode, readTimecode } from './timecode.js';

/** One presented frame: when it was shown (ms, wall clock) and how old its picture was. */
export interface FrameSample {
  shownAt: number;
  delayMs: number;
  /** Wall-clock ms from the arrival of the frame's last packet to its presentation, when Chromium says. */
  receiveToShowMs: number | undefined;
  /** The HTTP player's own live-latency figure when the frame was shown (ms), when it has one. */
  playerLatencyMs: number | undefined;
}

export interface ViewerReport {
  samples: FrameSample[];
  unreadable: number;
  codec: string | undefined;
  frameWidth: number | undefined;
  frameHeight: number | undefined;
  packetsReceived: number;
  framesDecoded: number;
  framesDropped: number;
  /** Mean jitter-buffer delay (ms) of the frames decoded so far. */
  jitterBufferMs: number | undefined;
  connectionState: string | undefined;
  /** Every error event of an HTTP player (fatal or not), as `code/detail` strings. */
  playerErrors: string[];
  /** Heights of the renditions an HTTP player played, one entry per switch, with when (ms). */
  renditionSwitches: { at: number; height: number }[];
}

export interface PublisherReport {
  paints: number;
  sentWidth: number | undefined;
  sentHeight: number | undefined;
  framesEncoded: number;
  qualityLimitationReason: string | undefined;
  targetBitrate: number | undefined;
}

type StatsRecord = Record<string, unknown> & { type: string; kind?: string };

async function statsOf(pc: RTCPeerConnection, type: string): Promise<{ stat: StatsRecord | undefined; codec: string | undefined }> {
  const report = await pc.getStats();
  let stat: StatsRecord | undefined;
  report.forEach((s: StatsRecord) => {
    if (s.type === type && s.kind === 'video') stat = s;
  });
  const codecId = stat?.codecId as string | undefined;
  const codec = codecId ? ((report.get(codecId) as { mimeType?: string } | undefined)?.mimeType ?? undefined) : undefined;
  return { stat, codec };
}

let publisher: Publisher | undefined;
let paints = 0;

/** Paints the clock at every animation frame and publishes it (plus the fake microphone unless audio is false). */
async function startPublishing(opts: { whipUrl: string; streamKey: string; videoCodec: VideoCodec; audio: boolean }): Promise<void> {
  const canvas = document.createElement('canvas');
  canvas.width = FRAME_WIDTH;
  canvas.height = FRAME_HEIGHT;
  document.body.append(canvas);
  const ctx = canvas.getContext('2d')!;
  const paint = () => {
    const now = Date.now();
    // A moving bar behind the code so the encoder sees motion, as it would from a camera.
    ctx.fillStyle = '#204060';
    ctx.fillRect(0, 0, FRAME_WIDTH, FRAME_HEIGHT);
    ctx.fillStyle = '#e0a030';
    ctx.fillRect((now / 4) % FRAME_WIDTH, 0, 24, FRAME_HEIGHT);
    paintTimecode(ctx, now);
    paints++;
    requestAnimationFrame(paint);
  };
  paint();
  const stream = canvas.captureStream(30);
  if (opts.audio) {
    const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    for (const t of mic.getAudioTracks()) stream.addTrack(t);
  }
  publisher = await publish({ whipUrl: opts.whipUrl, streamKey: opts.streamKey, stream, videoCodec: opts.videoCodec });
}

async function publisherReport(): Promise<PublisherReport> {
  const { stat } = publisher ? await statsOf(publisher.pc, 'outbound-rtp') : { stat: undefined };
  return {
    paints,
    sentWidth: stat?.frameWidth as number | undefined,
    sentHeight: stat?.frameHeight as number | undefined,
    framesEncoded: (stat?.framesEncoded as number | undefined) ?? 0,
    qualityLimitationReason: stat?.qualityLimitationReason as string | undefined,
    targetBitrate: stat?.targetBitrate as number | undefined,
  };
}

let player: Player | undefined;
const samples: FrameSample[] = [];
let unreadable = 0;

/** Plays over WHEP (retrying while the stream is still starting) and samples every presented frame. */
async function startWatching(opts: { whepUrl: string; timeoutMs: number }): Promise<void> {
  const video = document.createElement('video');
  document.body.append(video);
  const until = Date.now() + opts.timeoutMs;
  for (;;) {
    try {
      player = await playWhep({ whepUrl: opts.whepUrl, video });
      break;
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  sampleFrames(video);
}

/** Reads the painted clock back from every frame the video element presents. */
function sampleFrames(video: HTMLVideoElement, playerLatencyMs: () => number | undefined = () => undefined): void {
  const canvas = document.createElement('canvas');
  canvas.width = FRAME_WIDTH;
  canvas.height = FRAME_HEIGHT;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
    const shownAt = Date.now();
    // Scaled to the painted size whatever resolution the encoder chose, so the cells line up.
    ctx.drawImage(video, 0, 0, FRAME_WIDTH, FRAME_HEIGHT);
    const paintedAt = readTimecode(ctx.getImageData(0, 0, FRAME_WIDTH, FRAME_HEIGHT));
    if (paintedAt === undefined) unreadable++;
    else {
      const receivedAt = meta.receiveTime === undefined ? undefined : performance.timeOrigin + meta.receiveTime;
      samples.push({
        shownAt,
        delayMs: shownAt - paintedAt,
        receiveToShowMs: receivedAt === undefined ? undefined : shownAt - receivedAt,
        playerLatencyMs: playerLatencyMs(),
      });
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}

declare global {
  interface Window {
    // hls.js, dash.js, Shaka Player and video.js, loaded by the HTTP bench's page as plain scripts.
    Hls?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    dashjs?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    shaka?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    videojs?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  }
}

/** What an HTTP player page plays: the protocol, and the player that plays it. */
export type HttpKind = 'll-hls' | 'hls' | 'dash';
export type HttpPlayerName = 'hls.js' | 'dash.js' | 'shaka' | 'video.js';

const httpPlayerState: { fatal?: string; errors: string[]; switches: { at: number; height: number }[] } = { errors: [], switches: [] };

function noteHeight(height: number): void {
  const last = httpPlayerState.switches.at(-1);
  if (height > 0 && last?.height !== height) httpPlayerState.switches.push({ at: Date.now(), height });
}

/**
 * Plays LL-HLS, plain HLS (parts ignored) or low-latency DASH with one of the HTTP players and
 * samples every presented frame like startWatching, with the player's own live-latency figure.
 * hls.js and dash.js are pinned to the top rendition (`top`), as the bench always measured them;
 * Shaka and video.js choose by themselves unless `top` is set.
 */
async function startWatchingHttp(opts: { url: string; kind: HttpKind; player?: HttpPlayerName; top?: boolean }): Promise<void> {
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  document.body.append(video);
  const name = opts.player ?? (opts.kind === 'dash' ? 'dash.js' : 'hls.js');
  const top = opts.top ?? (name === 'hls.js' || name === 'dash.js');
  let latencyMs: () => number | undefined = () => undefined;
  const error = (what: string, fatal: boolean) => {
    httpPlayerState.errors.push(what);
    if (fatal) httpPlayerState.fatal ??= what;
  };
  if (name === 'dash.js') {
    const player = window.dashjs.MediaPlayer().create();
    player.updateSettings({
      streaming: { delay: { liveDelay: 1.5 }, liveCatchup: { enabled: true }, abr: { autoSwitchBitrate: { video: !top } } },
    });
    player.on(window.dashjs.MediaPlayer.events.ERROR, (e: { error?: { code?: number; message?: string } }) =>
      error(`${e.error?.code ?? ''}/${e.error?.message ?? 'error'}`, true),
    );
    player.initialize(video, opts.url, true);
    latencyMs = () => {
      const s = player.getCurrentLiveLatency() as number;
      return Number.isFinite(s) && s > 0 ? s * 1000 : undefined;
    };
  } else if (name === 'hls.js') {
    const hls = new window.Hls({ lowLatencyMode: opts.kind === 'll-hls', startLevel: -1 });
    hls.on(window.Hls.Events.MANIFEST_PARSED, () => {
      if (top) hls.currentLevel = hls.levels.length - 1; // hls.js orders levels by bitrate: the last is the top
    });
    hls.on(window.Hls.Events.ERROR, (_e: unknown, d: { fatal: boolean; details: string }) => error(d.details, d.fatal));
    hls.loadSource(opts.url);
    hls.attachMedia(video);
    latencyMs = () => (Number.isFinite(hls.latency) && hls.latency > 0 ? hls.latency * 1000 : undefined);
  } else if (name === 'shaka') {
    window.shaka.polyfill.installAll();
    const player = new window.shaka.Player();
    await player.attach(video);
    player.configure({ streaming: { lowLatencyMode: opts.kind !== 'hls' }, abr: { enabled: !top } });
    player.addEventListener('error', (e: { detail: { code: number; severity: number; data?: unknown[] } }) =>
      error(
        `shaka ${e.detail.code}${e.detail.data?.length ? ` ${JSON.stringify(e.detail.data).slice(0, 200)}` : ''}`,
        e.detail.severity === 2,
      ),
    );
    await player.load(opts.url);
    if (top) {
      const best = (player.getVariantTracks() as { bandwidth: number }[]).reduce((a, b) => (b.bandwidth > a.bandwidth ? b : a));
      player.selectVariantTrack(best, true);
    }
    // Shaka's own figure (stats.liveLatency: now - presentation start - currentTime), read at most
    // every 250 ms: getStats() copies the whole session history
    let last = { at: 0, ms: undefined as number | undefined };
    latencyMs = () => {
      if (Date.now() - last.at >= 250) {
        const s = (player.getStats() as { liveLatency: number }).liveLatency;
        last = { at: Date.now(), ms: Number.isFinite(s) && s > 0 ? s * 1000 : undefined };
      }
      return last.ms;
    };
    window.shakaPlayer = player;
  } else {
    video.className = 'video-js';
    const player = window.videojs(video, { autoplay: 'muted', muted: true, html5: { vhs: { overrideNative: true } } });
    player.on('error', () => error(`video.js ${player.error()?.code ?? ''} ${player.error()?.message ?? ''}`, true));
    player.src({ src: opts.url, type: opts.kind === 'dash' ? 'application/dash+xml' : 'application/x-mpegURL' });
    latencyMs = () => {
      // VHS keeps no wall clock: its figure is how far behind the seekable end it plays
      const tracker = player.liveTracker;
      const behind = tracker?.isLive() ? (tracker.liveCurrentTime() as number) - (player.currentTime() as number) : NaN;
      return Number.isFinite(behind) && behind > 0 ? behind * 1000 : undefined;
    };
  }
  video.addEventListener('resize', () => noteHeight(video.videoHeight));
  sampleFrames(video, latencyMs);
}

async function viewerReport(): Promise<ViewerReport> {
  const { stat, codec } = player ? await statsOf(player.pc, 'inbound-rtp') : { stat: undefined, codec: undefined };
  const emitted = stat?.jitterBufferEmittedCount as number | undefined;
  const delay = stat?.jitterBufferDelay as number | undefined;
  return {
    samples,
    unreadable,
    codec,
    frameWidth: stat?.frameWidth as number | undefined,
    frameHeight: stat?.frameHeight as number | undefined,
    packetsReceived: (stat?.packetsReceived as number | undefined) ?? 0,
    framesDecoded: (stat?.framesDecoded as number | undefined) ?? 0,
    framesDropped: (stat?.framesDropped as number | undefined) ?? 0,
    jitterBufferMs: emitted && delay !== undefined ? (delay / emitted) * 1000 : undefined,
    connectionState: player?.pc.connectionState ?? httpPlayerState.fatal,
    playerErrors: httpPlayerState.errors,
    renditionSwitches: httpPlayerState.switches,
  };
}

/** Every stats record of the viewer's connection and its remote description, for diagnosing a black screen. */
async function viewerDiagnostics(): Promise<{ stats: StatsRecord[]; answer: string | undefined }> {
  const stats: StatsRecord[] = [];
  (await player?.pc.getStats())?.forEach((s: StatsRecord) => stats.push(s));
  return { stats, answer: player?.pc.remoteDescription?.sdp };
}

async function stop(): Promise<void> {
  await player?.stop();
  await publisher?.stop();
}

export const g2g = { startPublishing, publisherReport, startWatching, startWatchingHttp, viewerReport, viewerDiagnostics, stop };
export type G2gPage = typeof g2g;

declare global {
  interface Window {
    g2g?: G2gPage;
    shakaPlayer?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  }
}
window.g2g = g2g;
