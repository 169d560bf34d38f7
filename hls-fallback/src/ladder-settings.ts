// Turns the node's `hls` configuration into the settings each StreamLadder runs with.
import type { Config } from '@onair/platform';
import type { LadderSettings } from './stream-ladder.js';

/** Posters are for directory tiles: 360 lines is plenty, and never more than the source. */
const POSTER_HEIGHT = 360;
/** Runs of ffmpeg that die before producing media before a stream's packaging is declared failed. */
const MAX_FAILURES = 6;

export function ladderSettings(hls: Config['hls']): LadderSettings {
  return {
    rungs: hls.ladder,
    maxRenditions: hls.maxRenditions,
    preset: hls.preset,
    frameRate: hls.frameRate,
    partMs: hls.partMs,
    segmentMs: hls.segmentMs,
    audioBitrate: hls.audioBitrate,
    posterIntervalMs: hls.posterIntervalMs,
    posterHeight: POSTER_HEIGHT,
    probeTimeoutMs: hls.probeTimeoutMs,
    ffmpegPath: hls.ffmpegPath,
    ffprobePath: hls.ffprobePath,
    maxFailures: MAX_FAILURES,
  };
}
