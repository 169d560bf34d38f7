// Renders the low-latency DASH MPD of a packager's state (DASH-IF IOP low-latency profile): one
// Period per encoder generation, a video AdaptationSet with the ladder and an audio AdaptationSet,
// SegmentTemplate with $Number$ and a per-representation nominal duration, availabilityTimeOffset so
// players fetch the segment in progress while it is being sent, and UTCTiming. Pure rendering: no
// waiting, no HTTP, no mutation. The segment URLs are the same objects the HLS playlists name.
import type { CmafPackager, PackagedTrack } from '../package/cmaf-packager.js';
import { objectNames, playlistTimings, timescaleOf } from './hls-playlists.js';

export interface MpdOptions {
  /** absolute URL of the time endpoint (urn:mpeg:dash:utc:http-iso:2014) */
  timeUrl: string;
  /** end-to-end latency the player aims for */
  targetLatencyMs?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const dur = (sec: number) => `PT${Math.max(0, sec).toFixed(3)}S`;
const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
const frameRate = (fps: number) => (Math.abs(fps - Math.round(fps)) < 1e-6 ? String(Math.round(fps)) : `${Math.round(fps * 1000)}/1000`);

/**
 * Nominal segment duration in ticks for $Number$ addressing. Video segments follow the GOP (the
 * target); so does audio in a ladder with video (cut at the AAC frame nearest each video boundary:
 * every audio segment starts within half a frame of where the template says: @duration addressing
 * tolerates segments that deviate from the nominal duration, e.g. AWS MediaPackage allows 50 %,
 * and dash.js and Shaka play it, tested in players-conformance). An audio-only stream's segments are a whole
 * number of equal parts (see TrackTimeline), e.g. 5 x 10 AAC frames = 1.0667 s, so their template
 * duration is that, not the target.
 */
export function nominalSegmentTicks(p: CmafPackager, track: PackagedTrack, gen: number): number {
  const ts = timescaleOf(track, gen);
  const target = p.segmentTargetSec * ts;
  if (track.spec.kind === 'video' || followsVideo(p, track)) return Math.round(target);
  const part = track.timeline.segments.find((s) => s.gen === gen)?.parts[0]?.durationTicks;
  if (!part) return Math.round(target);
  return Math.max(1, Math.ceil((target - part / 2) / part - 1e-9)) * part;
}

const followsVideo = (p: CmafPackager, track: PackagedTrack) =>
  track.spec.kind === 'audio' && p.tracks.some((t) => t.spec.kind === 'video');

interface RepresentationTiming {
  startNumber: number;
  pto: number;
  ticks: number;
  ts: number;
  partTicks: number;
}

function timingOf(p: CmafPackager, track: PackagedTrack, gen: number, anchorMediaSec: number): RepresentationTiming {
  const ts = timescaleOf(track, gen);
  const ticks = nominalSegmentTicks(p, track, gen);
  const partTicks = followsVideo(p, track)
    ? Math.round(p.partTargetSec * ts)
    : (track.timeline.segments.find((s) => s.gen === gen)?.parts[0]?.durationTicks ?? Math.round(p.partTargetSec * ts));
  // startNumber/PTO stay at the generation's first segment (its nominal start: for audio that
  // follows the video, where the video's begins), even after it slid out, so the template's
  // timeline never moves under a player.
  const start = track.timeline.generationStart(gen);
  if (!start) {
    // nothing of this generation yet: the next segment will start at the generation's anchor
    return { startNumber: track.timeline.nextPart().msn, pto: Math.round(anchorMediaSec * ts), ticks, ts, partTicks };
  }
  return { startNumber: start.msn, pto: start.startTicks, ticks, ts, partTicks };
}

export function renderMpd(p: CmafPackager, o: MpdOptions): string {
  const live = p.state === 'live';
  const origin = p.timelineOriginMs ?? p.now();
  const gens = p.generations();
  const video = p.tracks.filter((t) => t.spec.kind === 'video' && t.latestInit);
  const audio = p.tracks.filter((t) => t.spec.kind === 'audio' && t.latestInit);
  const timings = p.tracks[0] ? playlistTimings(p, p.tracks[0]) : undefined;
  // one segment of buffer plus one of margin: the chunked segment in progress keeps it filled
  const latency = o.targetLatencyMs ?? Math.round(2000 * p.segmentTargetSec);
  const publish = Math.max(origin, ...gens.map((g) => g.wallMs), p.endedAtMs ?? 0);

  const periods: string[] = [];
  let presentationEndSec = 0;
  for (const g of gens) {
    const periodStartSec = (g.wallMs - origin) / 1000;
    const reps = new Map<PackagedTrack, RepresentationTiming>();
    for (const t of [...video, ...audio]) reps.set(t, timingOf(p, t, g.gen, g.mediaSec));
    // the period's media ends where its longest track's segments end
    let periodEndSec = periodStartSec;
    for (const [t, r] of reps) {
      const last = t.timeline.segments.filter((s) => s.gen === g.gen).pop();
      if (last) periodEndSec = Math.max(periodEndSec, periodStartSec + (last.startTicks + last.durationTicks - r.pto) / r.ts);
    }
    presentationEndSec = Math.max(presentationEndSec, periodEndSec);

    const rep = (t: PackagedTrack) => {
      const r = reps.get(t)!;
      const info = t.latestInit!.info;
      const attrs = [`id="${t.spec.name}"`, `bandwidth="${Math.round(t.spec.bandwidth)}"`, `codecs="${xml(info.codec)}"`];
      if (info.kind === 'video') {
        if (info.width && info.height) attrs.push(`width="${info.width}"`, `height="${info.height}"`, 'sar="1:1"');
        if (t.frameRate) attrs.push(`frameRate="${frameRate(t.frameRate)}"`);
      } else if (info.sampleRate) attrs.push(`audioSamplingRate="${info.sampleRate}"`);
      const ato = Math.max(0, Math.floor(((r.ticks - r.partTicks) / r.ts) * 1000) / 1000);
      const template =
        `<SegmentTemplate timescale="${r.ts}" duration="${r.ticks}" startNumber="${r.startNumber}" presentationTimeOffset="${r.pto}"` +
        ` initialization="${t.spec.name}/${p.session}/${objectNames.init(g.gen)}" media="${t.spec.name}/${p.session}/$Number$.m4s"` +
        (live ? ` availabilityTimeOffset="${ato.toFixed(3)}" availabilityTimeComplete="false"` : '') +
        '/>';
      const channels =
        info.kind === 'audio' && info.channels
          ? `<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${info.channels}"/>`
          : '';
      return `      <Representation ${attrs.join(' ')}>${channels}${template}</Representation>`;
    };
    const sets: string[] = [];
    if (video.length) {
      const maxW = Math.max(...video.map((t) => t.latestInit!.info.width ?? 0));
      const maxH = Math.max(...video.map((t) => t.latestInit!.info.height ?? 0));
      const maxFps = Math.max(...video.map((t) => t.frameRate ?? 0));
      sets.push(
        `    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1"` +
          (maxW ? ` maxWidth="${maxW}" maxHeight="${maxH}"` : '') +
          (maxFps ? ` maxFrameRate="${frameRate(maxFps)}"` : '') +
          '>',
        ...video.map(rep),
        '    </AdaptationSet>',
      );
    }
    if (audio.length) {
      sets.push(
        '    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" lang="und" segmentAlignment="true" startWithSAP="1">',
        ...audio.map(rep),
        '    </AdaptationSet>',
      );
    }
    periods.push(`  <Period id="p${g.gen}" start="${dur(periodStartSec)}">`, ...sets, '  </Period>');
  }

  const head = [
    'xmlns="urn:mpeg:dash:schema:mpd:2011"',
    'profiles="urn:mpeg:dash:profile:isoff-live:2011,http://dashif.org/guidelines/dash-if-low-latency"',
  ];
  if (live) {
    head.push(
      'type="dynamic"',
      `availabilityStartTime="${iso(origin)}"`,
      `publishTime="${iso(publish)}"`,
      `minimumUpdatePeriod="${dur(p.segmentTargetSec)}"`,
      `timeShiftBufferDepth="${dur(p.windowSegments * p.segmentTargetSec)}"`,
    );
  } else {
    head.push('type="static"', `publishTime="${iso(publish)}"`, `mediaPresentationDuration="${dur(presentationEndSec)}"`);
  }
  head.push(`maxSegmentDuration="${dur(timings?.targetDuration ?? p.segmentTargetSec)}"`, `minBufferTime="${dur(p.segmentTargetSec)}"`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<MPD ${head.join(' ')}>`,
    ...(live
      ? [
          '  <ServiceDescription id="0">',
          `    <Latency referenceId="0" target="${latency}" min="${Math.round(latency * 0.75)}" max="${Math.round(latency * 2)}"/>`,
          '    <PlaybackRate min="0.96" max="1.04"/>',
          '  </ServiceDescription>',
        ]
      : []),
    ...periods,
    `  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="${xml(o.timeUrl)}"/>`,
    '</MPD>',
    '',
  ].join('\n');
}
