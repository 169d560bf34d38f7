// Chooses the adaptive-bitrate ladder for one source picture: the configured rungs at or below the
// source height (never upscaling), highest first, at most `maxRenditions`. A source smaller than every
// rung gets one rendition at its own size. Pure: no I/O.

export interface LadderRung {
  height: number;
  /** Video bitrate in bits per second. */
  videoBitrate: number;
}

export interface Rendition extends LadderRung {
  /** e.g. "720p": names the rendition in URLs and menus. */
  name: string;
}

export const DEFAULT_LADDER: LadderRung[] = [
  { height: 1080, videoBitrate: 5_000_000 },
  { height: 720, videoBitrate: 2_800_000 },
  { height: 480, videoBitrate: 1_400_000 },
  { height: 360, videoBitrate: 800_000 },
  { height: 160, videoBitrate: 250_000 },
];

export function chooseLadder(sourceHeight: number, rungs: LadderRung[], maxRenditions: number): Rendition[] {
  const even = (n: number) => Math.max(2, n - (n % 2));
  const sorted = [...rungs].sort((a, b) => b.height - a.height);
  const fitting = sorted.filter((r) => r.height <= sourceHeight);
  const chosen = fitting.length
    ? fitting.slice(0, Math.max(1, maxRenditions))
    : [{ height: even(sourceHeight), videoBitrate: sorted[sorted.length - 1]?.videoBitrate ?? 250_000 }];
  return chosen.map((r) => ({ ...r, height: even(r.height), name: `${even(r.height)}p` }));
}
