// @onair/hls-fallback: HLS (Low-Latency and plain) and DASH playback of live streams. encode/ taps a
// stream's RTP and supervises its ffmpeg ladder, or copies the renditions an RTMP/SRT source's
// contribution encoder already made (layer-copy); package/ turns the CMAF bytes into segments and
// parts; deliver/ renders playlists and manifests and answers playback requests.
export { LiveLadders, type LiveLaddersOptions } from './live-ladders.js';
export { StreamLadder, type CmafSink, type LadderSettings, type LadderState } from './stream-ladder.js';
export { DEFAULT_LADDER, chooseLadder, type LadderRung, type Rendition } from './encode/ladder.js';
export { ladderSettings } from './ladder-settings.js';
export {
  CmafPackager,
  type PackagerTrack,
  type PackagerOptions,
  type PackagerState,
  type PackagedTrack,
  type TrackInit,
  type GenerationAnchor,
} from './package/cmaf-packager.js';
export { describeInit, type InitInfo } from './package/init-segment.js';
export { describeFragment, type FragmentInfo } from './package/media-fragment.js';
export type { MediaSegment, MediaPart } from './package/track-timeline.js';
export { renderMultivariant, renderMediaPlaylist, objectNames } from './deliver/hls-playlists.js';
export { renderMpd } from './deliver/dash-manifest.js';
export {
  PlaybackOrigin,
  type PackagerLookup,
  type PlaybackRequest,
  type PlaybackReply,
  type PlaybackOriginOptions,
} from './deliver/playback-origin.js';
export { EXPOSED_HEADERS } from './deliver/http-caching.js';
export { HttpAudience } from './deliver/http-audience.js';
export { BroadcastRecorder, type RecordingCatalog, type RecorderOptions, type RecorderState } from './record/broadcast-recorder.js';
export { StreamRecordings } from './record/stream-recordings.js';
export {
  readRecordingIndex,
  recordingKeys,
  type RecordingIndex,
  type RecordedTrack,
  type RecordedSegment,
} from './record/recording-layout.js';
export { renderVodMultivariant, renderVodMediaPlaylist, renderVodMpd } from './deliver/vod-playlists.js';
export { VodOrigin, type BroadcastLookup, type RecordedBroadcast } from './deliver/vod-origin.js';
export { ClipCutter, type ClipRange, type CutResult } from './record/clip-cutter.js';
