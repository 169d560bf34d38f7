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
function sampleFrames(video: HTMLVideoElement): void {
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
      samples.push({ shownAt, delayMs: shownAt - paintedAt, receiveToShowMs: receivedAt === undefined ? undefined : shownAt - receivedAt });
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}

declare global {
  interface Window {
    // hls.js and dash.js, loaded by the HTTP bench's page as plain scripts.
    Hls?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    dashjs?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  }
}

const httpPlayerState: { fatal?: string } = {};

/**
 * Plays LL-HLS (hls.js low-latency mode), plain HLS (hls.js with parts ignored) or low-latency DASH
 * (dash.js) at the top rendition, and samples every presented frame like startWatching.
 */
async function startWatchingHttp(opts: { url: string; kind: 'll-hls' | 'hls' | 'dash' }): Promise<void> {
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  document.body.append(video);
  if (opts.kind === 'dash') {
    const player = window.dashjs.MediaPlayer().create();
    player.updateSettings({ streaming: { delay: { liveDelay: 1.5 }, liveCatchup: { enabled: true }, abr: { autoSwitchBitrate: { video: false } } } });
    player.on(window.dashjs.MediaPlayer.events.ERROR, (e: { error?: { message?: string } }) => (httpPlayerState.fatal = e.error?.message ?? 'error'));
    player.initialize(video, opts.url, true);
  } else {
    const hls = new window.Hls({ lowLatencyMode: opts.kind === 'll-hls', startLevel: -1 });
    hls.on(window.Hls.Events.MANIFEST_PARSED, () => {
      hls.currentLevel = hls.levels.length - 1; // hls.js orders levels by bitrate: the last is the top
    });
    hls.on(window.Hls.Events.ERROR, (_e: unknown, d: { fatal: boolean; details: string }) => {
      if (d.fatal) httpPlayerState.fatal = d.details;
    });
    hls.loadSource(opts.url);
    hls.attachMedia(video);
  }
  sampleFrames(video);
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
  }
}
window.g2g = g2g;
