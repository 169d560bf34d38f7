export { LivePackagers, type LivePackagersOptions } from './live-packagers.js';
export { StreamPackaging, type CmafSink, type LadderSettings, type PackagedTrack, type PackagingState } from './stream-packaging.js';
export { DEFAULT_LADDER, chooseLadder, type LadderRung, type Rendition } from './encode/ladder.js';
export { ladderSettings } from './ladder-settings.js';
