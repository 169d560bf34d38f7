// Renders HLS playlists from a packager's state: the multivariant playlist (the ladder, an audio
// group), Low-Latency media playlists per draft-pantos-hls-rfc8216bis (parts, preload hint, server
// control, rendition reports, delta updates) and plain media playlists for players that predate
// LL-HLS. Pure text rendering: it never waits, never decides HTTP status and never mutates state.
import type { CmafPackager, PackagedTrack } from '../package/cmaf-packager.js';
import type { MediaSegment } from '../package/track-timeline.js';

/** Object names inside a track's session directory (relative URIs in the playlists). */
export const objectNames = {
  init: (gen: number) => `init-${gen}.mp4`,
  segment: (msn: number) => `${msn}.m4s`,
  part: (msn: number, index: number) => `${msn}.${index}.m4s`,
};

export function segmentSeconds(track: PackagedTrack, s: MediaSegment): number {
  return s.durationTicks / timescaleOf(track, s.gen);
}

export function timescaleOf(track: PackagedTrack, gen: number): number {
  return (track.inits.get(gen) ?? track.latestInit)?.info.timescale ?? 1;
}

const up3 = (x: number) => (Math.ceil(x * 1000 - 1e-6) / 1000).toFixed(3);
const sec5 = (x: number) => x.toFixed(5);

/** Numbers that must hold for the whole stream, derived from what was seen so far. */
export function playlistTimings(p: CmafPackager, track: PackagedTrack) {
  const targetDuration = Math.max(1, Math.ceil(p.segmentTargetSec - 1e-9), Math.round(track.timeline.maxSegmentSec));
  const partTarget = Math.max(p.partTargetSec, track.timeline.maxPartSec);
  const skipUntil = 6 * targetDuration;
  const canSkip = p.windowSegments * p.segmentTargetSec > skipUntil;
  return { targetDuration, partTarget, partHoldBack: 3 * partTarget, holdBack: 3 * targetDuration, skipUntil, canSkip };
}

export function renderMultivariant(p: CmafPackager, mediaName = 'index.m3u8'): string {
  const audio = p.tracks.filter((t) => t.spec.kind === 'audio' && t.latestInit);
  const video = p.tracks.filter((t) => t.spec.kind === 'video' && t.latestInit);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
  audio.forEach((a, i) => {
    const ch = a.latestInit!.info.channels;
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="${a.spec.name}",DEFAULT=${i === 0 ? 'YES' : 'NO'},AUTOSELECT=YES` +
        `${ch ? `,CHANNELS="${ch}"` : ''},URI="${a.spec.name}/${mediaName}"`,
    );
  });
  const audioBandwidth = Math.max(0, ...audio.map((a) => a.spec.bandwidth));
  const audioCodec = audio[0]?.latestInit?.info.codec;
  for (const v of video) {
    const info = v.latestInit!.info;
    const attrs = [
      `BANDWIDTH=${Math.round(v.spec.bandwidth + audioBandwidth)}`,
      `CODECS="${[info.codec, audioCodec].filter(Boolean).join(',')}"`,
    ];
    if (info.width && info.height) attrs.push(`RESOLUTION=${info.width}x${info.height}`);
    if (v.frameRate) attrs.push(`FRAME-RATE=${v.frameRate.toFixed(3)}`);
    if (audio.length) attrs.push('AUDIO="audio"');
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, `${v.spec.name}/${mediaName}`);
  }
  if (!video.length) {
    // an audio-only stream: its audio playlist is the variant
    for (const a of audio) {
      lines.push(
        `#EXT-X-STREAM-INF:BANDWIDTH=${Math.round(a.spec.bandwidth)},CODECS="${a.latestInit!.info.codec}"`,
        `${a.spec.name}/${mediaName}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export interface MediaPlaylistOptions {
  /** LL-HLS tags (parts, preload hint, server control, rendition reports); false = plain HLS */
  lowLatency: boolean;
  /** a delta update (_HLS_skip=YES|v2): leave out segments older than CAN-SKIP-UNTIL */
  skip: boolean;
}

export function renderMediaPlaylist(p: CmafPackager, track: PackagedTrack, o: MediaPlaylistOptions): string {
  const tl = track.timeline;
  const t = playlistTimings(p, track);
  const ended = p.state !== 'live';
  // Plain HLS lists only complete segments: a non-LL player would fetch a segment still growing.
  const segs = o.lowLatency ? tl.segments : tl.segments.filter((s) => s.complete);
  const first = segs[0];
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${o.lowLatency ? 9 : 7}`, `#EXT-X-TARGETDURATION:${t.targetDuration}`];
  if (o.lowLatency) {
    const sc = ['CAN-BLOCK-RELOAD=YES'];
    if (t.canSkip) sc.push(`CAN-SKIP-UNTIL=${t.skipUntil.toFixed(1)}`);
    sc.push(`PART-HOLD-BACK=${up3(t.partHoldBack)}`, `HOLD-BACK=${t.holdBack.toFixed(1)}`);
    lines.push(`#EXT-X-SERVER-CONTROL:${sc.join(',')}`, `#EXT-X-PART-INF:PART-TARGET=${up3(t.partTarget)}`);
  }
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${first?.msn ?? 0}`);
  // a plain playlist only leaves out the segment in progress, so both start at the same segment
  lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${tl.discontinuitySequence}`);
  if (!o.lowLatency && !ended) lines.push('#EXT-X-INDEPENDENT-SEGMENTS');

  const seconds = segs.map((s) => segmentSeconds(track, s));
  // How many leading segments a delta update leaves out: those ending CAN-SKIP-UNTIL or more
  // before the end of the playlist.
  let skipped = 0;
  if (o.lowLatency && o.skip && t.canSkip) {
    let after = seconds.reduce((a, b) => a + b, 0);
    for (let i = 0; i < segs.length - 1; i++) {
      after -= seconds[i]!;
      if (after < t.skipUntil) break;
      skipped = i + 1;
    }
    if (skipped) lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`);
  }
  // Parts are listed for the last three target durations only (rfc8216bis 6.2.2).
  let partsFrom = segs.length;
  if (o.lowLatency) {
    let acc = 0;
    for (let i = segs.length - 1; i >= 0; i--) {
      if (acc >= 3 * t.targetDuration) break;
      partsFrom = i;
      acc += seconds[i]!;
    }
  }
  let mapGen = -1;
  for (let i = skipped; i < segs.length; i++) {
    const s = segs[i]!;
    // a segment's own discontinuity tag stays while it is listed (it counts once it slides out)
    if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if (s.gen !== mapGen) {
      lines.push(`#EXT-X-MAP:URI="${p.session}/${objectNames.init(s.gen)}"`);
      mapGen = s.gen;
    }
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateMs).toISOString()}`);
    if (i >= partsFrom) {
      const ts = timescaleOf(track, s.gen);
      for (const part of s.parts) {
        lines.push(
          `#EXT-X-PART:DURATION=${sec5(part.durationTicks / ts)},URI="${p.session}/${objectNames.part(s.msn, part.index)}"${part.independent ? ',INDEPENDENT=YES' : ''}`,
        );
      }
    }
    if (s.complete) lines.push(`#EXTINF:${sec5(seconds[i]!)},`, `${p.session}/${objectNames.segment(s.msn)}`);
  }
  if (o.lowLatency && !ended && first) {
    const next = tl.nextPart();
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${p.session}/${objectNames.part(next.msn, next.index)}"`);
  }
  if (o.lowLatency) {
    for (const other of p.tracks) {
      if (other === track) continue;
      const last = other.timeline.last;
      if (!last) continue;
      lines.push(`#EXT-X-RENDITION-REPORT:URI="../${other.spec.name}/index.m3u8",LAST-MSN=${last.msn},LAST-PART=${last.parts.length - 1}`);
    }
  }
  if (ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}
