// Renders a recorded broadcast (a RecordingIndex) for players: the HLS multivariant playlist, media
// playlists — VOD (`#EXT-X-PLAYLIST-TYPE:VOD` + `#EXT-X-ENDLIST`) once the recording is final, or a
// growing playlist while it is still being recorded (EVENT, or a sliding DVR window of the last
// `windowSec`) — a static DASH MPD (SegmentList + SegmentTimeline, one Period per encoder
// generation) and, while recording, a dynamic one over the last `windowSec` for live rewind (DVR). Segment URIs are the recorded objects' names, relative to the track's folder. Pure
// text rendering: no I/O, no HTTP status, no waiting.
import type { RecordedSegment, RecordedTrack, RecordingIndex } from '../record/recording-layout.js';

const HLS_VERSION = 7;
const sec5 = (x: number) => x.toFixed(5);
const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function renderVodMultivariant(index: RecordingIndex): string {
  const audio = index.tracks.filter((t) => t.kind === 'audio' && t.inits.size > 0);
  const video = index.tracks.filter((t) => t.kind === 'video' && t.inits.size > 0);
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${HLS_VERSION}`, '#EXT-X-INDEPENDENT-SEGMENTS'];
  audio.forEach((a, i) => {
    const ch = firstInit(a)?.channels;
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="${a.name}",DEFAULT=${i === 0 ? 'YES' : 'NO'},AUTOSELECT=YES` +
        `${ch ? `,CHANNELS="${ch}"` : ''},URI="${a.name}/index.m3u8"`,
    );
  });
  const audioBandwidth = Math.max(0, ...audio.map((a) => a.bandwidth));
  const audioCodec = audio[0] ? firstInit(audio[0])?.codec : undefined;
  for (const v of video) {
    const info = firstInit(v)!;
    const attrs = [
      `BANDWIDTH=${Math.round(v.bandwidth + audioBandwidth)}`,
      `CODECS="${[info.codec, audioCodec].filter(Boolean).join(',')}"`,
    ];
    if (info.width && info.height) attrs.push(`RESOLUTION=${info.width}x${info.height}`);
    if (info.frameRate) attrs.push(`FRAME-RATE=${info.frameRate.toFixed(3)}`);
    if (audio.length) attrs.push('AUDIO="audio"');
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, `${v.name}/index.m3u8`);
  }
  if (!video.length) {
    for (const a of audio)
      lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${Math.round(a.bandwidth)},CODECS="${firstInit(a)?.codec}"`, `${a.name}/index.m3u8`);
  }
  return `${lines.join('\n')}\n`;
}

export interface VodPlaylistOptions {
  /** the recording is final: VOD with ENDLIST; else a live playlist that grows */
  ended: boolean;
  /** while live: list only the last this many seconds (a DVR window); undefined = all (EVENT) */
  windowSec?: number;
  /** wall clock of the broadcast's start, for EXT-X-PROGRAM-DATE-TIME */
  startedAtMs: number;
}

export function renderVodMediaPlaylist(track: RecordedTrack, o: VodPlaylistOptions): string {
  let segments = track.segments;
  let dropped = 0;
  if (!o.ended && o.windowSec !== undefined) {
    const end = track.durationSec;
    const from = segments.findIndex((s) => s.startSec + s.durationSec > end - o.windowSec!);
    dropped = Math.max(0, from);
    segments = segments.slice(dropped);
  }
  const target = Math.max(1, Math.ceil(Math.max(0, ...track.segments.map((s) => s.durationSec)) - 1e-3));
  // A discontinuity that slid out of a DVR window still counts (RFC 8216 6.2.2).
  let discontinuitySequence = 0;
  for (let i = 1; i <= dropped && i < track.segments.length; i++)
    if (track.segments[i]!.gen !== track.segments[i - 1]!.gen) discontinuitySequence++;
  const lines = [
    '#EXTM3U',
    `#EXT-X-VERSION:${HLS_VERSION}`,
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${segments[0]?.msn ?? 0}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  if (discontinuitySequence) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${discontinuitySequence}`);
  if (o.ended) lines.push('#EXT-X-PLAYLIST-TYPE:VOD');
  else if (o.windowSec === undefined) lines.push('#EXT-X-PLAYLIST-TYPE:EVENT');
  // The first listed segment always names its init and date; later ones when the generation changes
  // (an ffmpeg restart), behind a discontinuity. A discontinuity before the window is counted above.
  let prev: RecordedSegment | undefined;
  for (const s of segments) {
    if (!prev || prev.gen !== s.gen) {
      if (prev) lines.push('#EXT-X-DISCONTINUITY');
      lines.push(`#EXT-X-MAP:URI="init-${s.gen}.mp4"`);
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(o.startedAtMs + s.offsetMs).toISOString()}`);
    }
    lines.push(`#EXTINF:${sec5(s.durationSec)},`, s.file);
    prev = s;
  }
  if (o.ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/** A static MPD (type="static") of a final recording: every rung and the audio, one Period per generation. */
export function renderVodMpd(index: RecordingIndex): string {
  const gens = [...new Set(index.tracks.flatMap((t) => t.segments.map((s) => s.gen)))].sort((a, b) => a - b);
  const dur = (x: number) => `PT${Math.max(0, x).toFixed(3)}S`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" ` +
      `mediaPresentationDuration="${dur(index.durationSec)}" minBufferTime="PT2S">`,
  ];
  const ref = index.tracks.find((t) => t.kind === 'video') ?? index.tracks[0]!;
  for (const gen of gens) {
    const refSegs = ref.segments.filter((s) => s.gen === gen);
    const start = refSegs[0]?.startSec ?? 0;
    lines.push(`  <Period id="${gen}" start="${dur(start)}">`);
    for (const kind of ['video', 'audio'] as const) {
      const reps = index.tracks.filter((t) => t.kind === kind && t.inits.has(gen) && t.segments.some((s) => s.gen === gen));
      if (!reps.length) continue;
      const mime = kind === 'video' ? 'video/mp4' : 'audio/mp4';
      lines.push(`    <AdaptationSet contentType="${kind}" mimeType="${mime}" segmentAlignment="true" startWithSAP="1">`);
      for (const t of reps) {
        const segs = t.segments.filter((s) => s.gen === gen);
        lines.push(...representation(t, kind, gen, segs, segs[0]!.startTicks));
      }
      lines.push('    </AdaptationSet>');
    }
    lines.push('  </Period>');
  }
  lines.push('</MPD>');
  return `${lines.join('\n')}\n`;
}

export interface DvrMpdOptions {
  /** wall clock of the broadcast's start: the MPD's availabilityStartTime */
  startedAtMs: number;
  /** how far back a player may seek: timeShiftBufferDepth, and the segments listed */
  windowSec: number;
  nowMs: number;
  /** the node's /time, for players to align their clock (UTCTiming) */
  timeUrl: string;
}

/**
 * A dynamic MPD of a recording still being made, for DASH players that rewind during the live
 * stream: availabilityStartTime is the broadcast's start and each Period starts at the wall-clock
 * offset of its generation's first segment, so a segment is available when it was recorded; the
 * segments of the last `windowSec` are listed and the MPD is refetched every 2 s.
 */
export function renderDvrMpd(index: RecordingIndex, o: DvrMpdOptions): string {
  const gens = [...new Set(index.tracks.flatMap((t) => t.segments.map((s) => s.gen)))].sort((a, b) => a - b);
  const dur = (x: number) => `PT${Math.max(0, x).toFixed(3)}S`;
  const ref = index.tracks.find((t) => t.kind === 'video') ?? index.tracks[0];
  const windowStartSec = (ref?.durationSec ?? 0) - o.windowSec;
  const inWindow = (s: RecordedSegment) => s.startSec + s.durationSec > windowStartSec;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="dynamic" ` +
      `availabilityStartTime="${new Date(o.startedAtMs).toISOString()}" publishTime="${new Date(o.nowMs).toISOString()}" ` +
      `minimumUpdatePeriod="PT2S" timeShiftBufferDepth="${dur(o.windowSec)}" suggestedPresentationDelay="PT4S" minBufferTime="PT2S">`,
  ];
  for (const gen of gens) {
    const first = ref?.segments.find((s) => s.gen === gen);
    if (!first || !ref!.segments.some((s) => s.gen === gen && inWindow(s))) continue;
    lines.push(`  <Period id="${gen}" start="${dur(first.offsetMs / 1000)}">`);
    for (const kind of ['video', 'audio'] as const) {
      const reps = index.tracks.filter((t) => t.kind === kind && t.inits.has(gen) && t.segments.some((s) => s.gen === gen && inWindow(s)));
      if (!reps.length) continue;
      const mime = kind === 'video' ? 'video/mp4' : 'audio/mp4';
      lines.push(`    <AdaptationSet contentType="${kind}" mimeType="${mime}" segmentAlignment="true" startWithSAP="1">`);
      for (const t of reps) {
        const all = t.segments.filter((s) => s.gen === gen);
        // The generation's first segment anchors media time to the Period start, listed or not.
        lines.push(...representation(t, kind, gen, all.filter(inWindow), all[0]!.startTicks));
      }
      lines.push('    </AdaptationSet>');
    }
    lines.push('  </Period>');
  }
  lines.push(`  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="${xml(o.timeUrl)}"/>`);
  lines.push('</MPD>');
  return `${lines.join('\n')}\n`;
}

/** One rendition of one generation: its init, and `segs` as a SegmentTimeline + SegmentList. */
function representation(
  t: RecordedTrack,
  kind: 'video' | 'audio',
  gen: number,
  segs: RecordedSegment[],
  presentationTimeOffset: number,
): string[] {
  const info = t.inits.get(gen)!;
  const attrs = [`id="${xml(t.name)}"`, `bandwidth="${Math.round(t.bandwidth)}"`, `codecs="${xml(info.codec ?? '')}"`];
  if (info.width && info.height) attrs.push(`width="${info.width}"`, `height="${info.height}"`);
  if (kind === 'audio') attrs.push(`audioSamplingRate="${info.timescale}"`);
  return [
    `      <Representation ${attrs.join(' ')}>`,
    `        <SegmentList timescale="${info.timescale}" presentationTimeOffset="${presentationTimeOffset}">`,
    `          <Initialization sourceURL="${xml(t.name)}/init-${gen}.mp4"/>`,
    '          <SegmentTimeline>',
    ...segs.map((s) => `            <S t="${s.startTicks}" d="${s.durationTicks}"/>`),
    '          </SegmentTimeline>',
    ...segs.map((s) => `          <SegmentURL media="${xml(t.name)}/${s.file}"/>`),
    '        </SegmentList>',
    '      </Representation>',
  ];
}

function firstInit(t: RecordedTrack) {
  const gen = t.segments[0]?.gen ?? [...t.inits.keys()][0];
  return gen === undefined ? undefined : t.inits.get(gen);
}
