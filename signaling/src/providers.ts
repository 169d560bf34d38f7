// One small provider per choice the composition root makes (as LiveKit's wire.go): each reads the
// configuration and returns the adapter for this deployment — embedded (one process, no servers)
// or distributed (PostgreSQL, Redis, NATS) — with the function that releases it. This is the only
// place where "embedded or distributed" is decided; domain modules ask their adapters for
// capabilities, routes get their dependencies passed in and never build fallbacks.
import {
  MemoryDirectoryStore,
  openBus,
  openDatabase,
  openRateLimiter,
  RedisDirectoryStore,
  type Bus,
  type Config,
  type Database,
  type DirectoryStore,
  type Logger,
  type RateLimiter,
  type StreamCatalog,
} from '@onair/platform';
import { MediaPlane, RtmpListener, SrtListener, type IngestAuthorizer, type LadderOutput } from '@onair/sfu';
import { NodeRegistry } from '@onair/origin-cascade';
import { CmafPackager, ladderSettings, LiveLadders, StreamRecordings } from '@onair/hls-fallback';
import { broadcastPrefix, type Broadcasts, FileRecordingStore, HEARTBEAT_MS, type ReactionLog, type RecordingStore } from '@onair/platform';

/** How long an ended stream's final playlists (with ENDLIST) stay readable. */
const ENDED_PLAYLIST_GRACE_MS = 30_000;

/** PostgreSQL when DATABASE_URL is set, else embedded PostgreSQL (PGlite) under DATA_DIR. */
export function createDatabase(config: Config): Promise<Database> {
  return openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
}

/** The directory's page cache and frozen listings: in Redis (shared by all nodes) when REDIS_URL is set. */
export async function createDirectoryStore(config: Config): Promise<DirectoryStore> {
  return config.redisUrl ? RedisDirectoryStore.connect(config.redisUrl) : new MemoryDirectoryStore();
}

/** NATS when NATS_URL is set, else the in-process bus. */
export function createBus(config: Config, log: Logger): Promise<Bus> {
  return openBus({ natsUrl: config.natsUrl, natsCredsFile: config.natsCredsFile, name: 'onair-node' }, log);
}

/** Rate limits shared through Redis when REDIS_URL is set, else in this process. */
export function createRateLimiter(config: Config, log: Logger): Promise<RateLimiter> {
  return openRateLimiter(config.redisUrl, log);
}

/** The cascade's node registry in Redis: only when the cascade is on (it needs REDIS_URL and NATS_URL). */
export async function createNodeRegistry(config: Config): Promise<NodeRegistry | undefined> {
  if (!config.cascade.enabled) return undefined;
  return NodeRegistry.connect(config.redisUrl!, config.cascade.registryPrefix, config.cascade.nodeTtlMs, { secret: config.cascade.secret });
}

export function createMediaPlane(config: Config, log: Logger): Promise<MediaPlane> {
  const m = config.media;
  return MediaPlane.start(
    {
      numWorkers: m.numWorkers,
      workerLogLevel: m.workerLogLevel,
      rtcMinPort: m.rtcMinPort,
      rtcMaxPort: m.rtcMaxPort,
      listenIp: m.listenIp,
      announcedAddress: m.announcedAddress,
      publisherTimeoutMs: m.publisherTimeoutMs,
      socketBufferBytes: m.socketBufferBytes,
      routerMaxViewers: m.routerMaxViewers,
      maxViewers: m.maxViewers,
      pendingViewersPerAddress: m.pendingViewersPerAddress,
      upstreamSilenceMs: config.cascade.upstreamSilenceMs,
    },
    log,
  );
}

/**
 * Where recordings are kept: files under RECORDINGS_DIR (a directory every node can read in distributed
 * mode). The one place to add another RecordingStore (object storage) later. None when recording is off.
 */
export function createRecordingStore(config: Config): RecordingStore | undefined {
  return config.recording.enabled && config.recording.dir ? new FileRecordingStore(config.recording.dir) : undefined;
}

/**
 * This node's recorders (one per stream whose ladder runs here), writing into `store`, cataloged in
 * `broadcasts`; `reactions` counts each recorded broadcast's reactions for its chat replay.
 */
export function createRecordings(store: RecordingStore, broadcasts: Broadcasts, reactions: ReactionLog, log: Logger): StreamRecordings {
  return new StreamRecordings(
    store,
    {
      begin: async (streamId, startedAtMs) => {
        const b = await broadcasts.begin(streamId, startedAtMs);
        reactions.follow(streamId, b.id);
        return { id: b.id, prefix: broadcastPrefix(b.id) };
      },
      progress: (id, p) => broadcasts.progress(id, p),
      finish: async (id, f) => {
        await reactions.unfollow(id);
        await broadcasts.finish(id, f);
      },
    },
    // 64 MB behind (about a minute of a 3-rung ladder) means the disk cannot keep up: stop, not swell.
    { maxQueueBytes: 64 * 1024 * 1024, progressIntervalMs: HEARTBEAT_MS },
    log,
  );
}

/** HLS/DASH: one supervised ffmpeg ladder per live stream, packaged in memory; none when HLS_MODE=off. */
export function createLadders(
  config: Config,
  media: MediaPlane,
  log: Logger,
  recordings?: StreamRecordings,
): LiveLadders<CmafPackager> | undefined {
  if (config.hls.mode === 'off') return undefined;
  const packagerOptions = {
    partTargetMs: config.hls.partMs,
    segmentTargetMs: config.hls.segmentMs,
    windowSegments: config.hls.windowSegments,
    log,
  };
  return new LiveLadders<CmafPackager>(
    media,
    {
      settings: ladderSettings(config.hls),
      createSink: (id, tracks) => {
        const packager = new CmafPackager(id, tracks, packagerOptions);
        recordings?.attach(packager);
        return packager;
      },
      endedGraceMs: ENDED_PLAYLIST_GRACE_MS,
    },
    log,
  );
}

/**
 * Stream keys for RTMP/SRT publishers, who present only the key: the stream it opens, refused
 * when the key is unknown (wrong or rotated). Checked before the ingest allocates anything for the
 * connection; whether the stream is already live (from any protocol) the ingest asks the media plane,
 * since a dropped RTMP publisher may reconnect to its own live stream.
 */
export function ingestAuthorizer(streams: StreamCatalog): IngestAuthorizer {
  return async (streamKey) => {
    const streamId = await streams.streamIdForKey(streamKey);
    if (!streamId) return { ok: false, code: 'invalid_stream_key', message: 'the stream key is wrong (it may have been rotated)' };
    return { ok: true, streamId };
  };
}

/** RTMP ingest on RTMP_PORT (one port, every stream); none with RTMP_PORT=off. */
export async function createRtmpListener(config: Config, media: MediaPlane, authorize: IngestAuthorizer, log: Logger) {
  if (config.ingest.rtmpPort === undefined) return undefined;
  return RtmpListener.start(
    media,
    authorize,
    {
      host: config.host,
      port: config.ingest.rtmpPort,
      ffmpegPath: config.hls.ffmpegPath,
      ladder: contributionLadder(config),
      maxConnectionsPerAddress: config.ingest.connectionsPerAddress,
    },
    log,
  );
}

/**
 * What an RTMP/SRT contribution encoder writes for the HLS/DASH ladder besides its WebRTC layers
 * (the ladder remuxes those layers instead of encoding its own); nothing with HLS_MODE=off.
 */
function contributionLadder(config: Config): LadderOutput | undefined {
  if (config.hls.mode === 'off') return undefined;
  const s = ladderSettings(config.hls);
  return {
    partMs: s.partMs,
    segmentMs: s.segmentMs,
    audioBitrate: s.audioBitrate,
    posterIntervalMs: s.posterIntervalMs,
    posterHeight: s.posterHeight,
  };
}

/**
 * SRT ingest on SRT_PORT (one UDP port, every stream); none with SRT_PORT=off. Its libsrt helper is
 * compiled on first use: without a C compiler or libsrt's headers (scripts/setup.sh installs them)
 * the node runs without SRT and says why once.
 */
export async function createSrtListener(config: Config, media: MediaPlane, authorize: IngestAuthorizer, log: Logger) {
  if (config.ingest.srtPort === undefined) return undefined;
  const host = config.host === 'localhost' ? '127.0.0.1' : config.host;
  try {
    return await SrtListener.start(
      media,
      authorize,
      {
        host,
        port: config.ingest.srtPort,
        passphrase: config.ingest.srtPassphrase,
        latencyMs: config.ingest.srtLatencyMs,
        maxCallersPerAddress: config.ingest.connectionsPerAddress,
        ffmpegPath: config.hls.ffmpegPath,
        ladder: contributionLadder(config),
      },
      log,
    );
  } catch (err) {
    log.error({ err }, 'SRT ingest is off: its helper could not be built or started');
    return undefined;
  }
}
