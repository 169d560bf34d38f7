// The recorded-broadcast renderers on a synthetic index: a final recording is a VOD playlist with
// ENDLIST and a discontinuity (and its own init) where ffmpeg restarted; one still recording is an
// EVENT playlist, and its DVR form lists only the window, counting the discontinuities that slid
// out; the static MPD has a Period per encoder generation with every segment's time and URL.
import { describe, expect, it } from 'vitest';
import { renderVodMediaPlaylist, renderVodMpd, renderVodMultivariant, type RecordedTrack, type RecordingIndex } from '@onair/hls-fallback';

const TS = 90_000;

/** `n` one-second segments, the generation changing at the indexes in `restarts`. */
function track(name: string, n: number, restarts: number[] = []): RecordedTrack {
  let gen = 0;
  let startTicks = 0;
  const segments = Array.from({ length: n }, (_, msn) => {
    if (restarts.includes(msn)) {
      gen++;
      startTicks = 0;
    }
    const s = {
      msn,
      gen,
      offsetMs: msn * 1000,
      startTicks,
      durationTicks: TS,
      durationSec: 1,
      startSec: msn,
      file: `${msn}_${gen}_${msn * 1000}_${startTicks}_${TS}.m4s`,
    };
    startTicks += TS;
    return s;
  });
  const info = { kind: 'video' as const, timescale: TS, codec: 'avc1.64001f', width: 640, height: 360, frameRate: 30 };
  return {
    kind: 'video',
    name,
    bandwidth: 800_000,
    inits: new Map(Array.from({ length: gen + 1 }, (_, g) => [g, info])),
    segments,
    durationSec: n,
  };
}

describe('recorded broadcast playlists', () => {
  it('a final recording: VOD with ENDLIST, a discontinuity and a new init where ffmpeg restarted', () => {
    const text = renderVodMediaPlaylist(track('360p', 6, [4]), { ended: true, startedAtMs: Date.UTC(2026, 11, 7) });
    const lines = text.trim().split('\n');
    expect(lines).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(lines.at(-1)).toBe('#EXT-X-ENDLIST');
    expect(lines.filter((l) => l.startsWith('#EXTINF')).length).toBe(6);
    expect(lines.filter((l) => l === '#EXT-X-DISCONTINUITY').length).toBe(1);
    expect(lines.filter((l) => l.startsWith('#EXT-X-MAP')).map((l) => l.slice(15))).toEqual(['"init-0.mp4"', '"init-1.mp4"']);
    expect(lines).toContain('#EXT-X-PROGRAM-DATE-TIME:2026-12-07T00:00:00.000Z');
    expect(lines).toContain('#EXT-X-TARGETDURATION:1');
  });

  it('a recording in progress: EVENT without ENDLIST; its DVR window lists the last seconds and keeps the discontinuity count', () => {
    const t = track('360p', 30, [5]);
    const event = renderVodMediaPlaylist(t, { ended: false, startedAtMs: 0 });
    expect(event).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    expect(event).not.toContain('#EXT-X-ENDLIST');
    const dvr = renderVodMediaPlaylist(t, { ended: false, startedAtMs: 0, windowSec: 10 }).trim().split('\n');
    expect(dvr.filter((l) => l.startsWith('#EXTINF')).length).toBe(10);
    expect(dvr).toContain('#EXT-X-MEDIA-SEQUENCE:20');
    expect(dvr).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:1');
    expect(dvr.some((l) => l.startsWith('#EXT-X-PLAYLIST-TYPE'))).toBe(false);
    expect(dvr[dvr.indexOf('#EXT-X-INDEPENDENT-SEGMENTS') + 2]).toBe('#EXT-X-MAP:URI="init-1.mp4"');
  });

  it('the multivariant playlist and the static MPD name every rung, each segment with its time', () => {
    const index: RecordingIndex = {
      meta: { version: 1, streamId: 's', segmentTargetMs: 1000, tracks: [] },
      tracks: [track('360p', 4, [2]), track('160p', 4, [2])],
      durationSec: 4,
    };
    const mv = renderVodMultivariant(index);
    expect(mv.match(/#EXT-X-STREAM-INF/g)?.length).toBe(2);
    expect(mv).toContain('360p/index.m3u8');
    const mpd = renderVodMpd(index);
    expect(mpd).toContain('type="static"');
    expect(mpd).toContain('mediaPresentationDuration="PT4.000S"');
    expect(mpd.match(/<Period /g)?.length).toBe(2);
    expect(mpd.match(/<SegmentURL /g)?.length).toBe(8);
    expect(mpd).toContain('<Initialization sourceURL="160p/init-1.mp4"/>');
    expect(mpd).toContain(`<S t="${TS}" d="${TS}"/>`);
  });
});
