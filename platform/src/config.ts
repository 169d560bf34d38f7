// OnAir's configuration: every knob in one typed object, read once from the environment at start-up.
// Defaults make `npm start` work on a laptop with no servers (embedded storage, in-process bus).
// Never read process.env anywhere else.
import { randomBytes } from 'node:crypto';
import { cpus, hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';

const IceServer = z.object({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof IceServer>;

const intFrom = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n)) {
        ctx.addIssue({ code: 'custom', message: `expected an integer, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const Env = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: intFrom(8080),
  PUBLIC_URL: z.string().url().optional(),
  TRUST_PROXY: z.string().default(''),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().default('.data'),
  DATABASE_URL: z.string().optional(),
  NATS_URL: z.string().optional(),
  NATS_CREDS_FILE: z.string().optional(),
  REDIS_URL: z.string().optional(),
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
  JWT_TTL_SECONDS: intFrom(3600),
  PASSWORD_SCRYPT_LOG2N: intFrom(17).pipe(
    z.number().min(14, 'PASSWORD_SCRYPT_LOG2N is 14 to 20').max(20, 'PASSWORD_SCRYPT_LOG2N is 14 to 20'),
  ),
  LOGIN_FAILURES_PER_ACCOUNT: intFrom(20),
  LOGIN_FAILURES_PER_ADDRESS: intFrom(500),
  REGISTRATIONS_PER_ADDRESS: intFrom(100),
  MEDIASOUP_WORKERS: intFrom(cpus().length),
  MEDIASOUP_LOG_LEVEL: z.enum(['debug', 'warn', 'error', 'none']).default('error'),
  RTC_LISTEN_IP: z.string().optional(),
  RTC_ANNOUNCED_ADDRESS: z.string().optional(),
  RTC_MIN_PORT: intFrom(40000),
  RTC_MAX_PORT: intFrom(49999),
  ICE_SERVERS: z.string().optional(),
  TURN_URLS: z.string().default(''),
  TURN_SECRET: z.string().min(16, 'TURN_SECRET must be at least 16 characters').optional(),
  TURN_CREDENTIAL_TTL_SECONDS: intFrom(3600),
  PUBLISHER_TIMEOUT_MS: intFrom(10_000),
  RTMP_PORT: z.string().optional(),
  SRT_PORT: z.string().optional(),
  SRT_PASSPHRASE: z.string().optional(),
  SRT_LATENCY_MS: intFrom(120),
  INGEST_CONNECTIONS_PER_ADDRESS: intFrom(8),
  RTC_SOCKET_BUFFER_BYTES: intFrom(4 * 1024 * 1024),
  MEDIA_ROUTER_MAX_VIEWERS: intFrom(250),
  MEDIA_MAX_VIEWERS: intFrom(0),
  WHEP_PENDING_PER_ADDRESS: intFrom(50),
  WS_CONNECTIONS_PER_ADDRESS: intFrom(1000),
  NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only (it is a NATS subject token)')
    .optional(),
  NODE_REGION: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only')
    .default('local'),
  NODE_PEER_REGIONS: z.string().default(''),
  CASCADE: z.enum(['auto', 'on', 'off']).default('auto'),
  CASCADE_SECRET: z.string().min(32, 'CASCADE_SECRET must be at least 32 characters').optional(),
  CASCADE_LISTEN_IP: z.string().optional(),
  CASCADE_ANNOUNCED_ADDRESS: z.string().optional(),
  CASCADE_SRTP: z.enum(['auto', 'on', 'off']).default('auto'),
  CASCADE_MAX_DOWNSTREAM: intFrom(8),
  CASCADE_HEARTBEAT_MS: intFrom(1000),
  CASCADE_NODE_TTL_MS: intFrom(3500),
  CASCADE_UPSTREAM_SILENCE_MS: intFrom(4000),
  CASCADE_RELAY_IDLE_MS: intFrom(30_000),
  NODE_SERVES_VIEWERS: z.enum(['true', 'false']).default('true'),
  CASCADE_REGISTRY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/)
    .default('onair:cascade:'),
  WEB_DIST_DIR: z.string().optional(),
  LEDGER_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD')
    .default('USD'),
  TIP_MIN_AMOUNT: intFrom(100),
  TIP_MAX_AMOUNT: intFrom(1_000_000),
  TIP_FEE_BPS: intFrom(0),
  TIP_WRITERS: intFrom(4),
  TIP_BATCH_MAX: intFrom(256),
  TIP_LINGER_MS: intFrom(2),
  CHAT_FRAMES_PER_SECOND: intFrom(10),
  CHAT_MAX_MESSAGES_PER_FRAME: intFrom(25),
  CHAT_WRITE_SLICE: intFrom(500),
  TOPUP_MIN_AMOUNT: intFrom(500),
  TOPUP_MAX_AMOUNT: intFrom(100_000),
  STRIPE_SECRET_KEY: z.string().optional(),
  TEST_FUNDS: z.enum(['auto', 'on', 'off']).default('auto'),
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
  STRIPE_WEBHOOK_SECRET: z.string().optional(),
  STRIPE_API_URL: z.string().url().optional(),
  HLS_MODE: z.enum(['always', 'off']).default('always'),
  HLS_LADDER: z.string().default('1080:5000,720:2800,480:1400,360:800,160:250'),
  HLS_MAX_RENDITIONS: intFrom(3),
  HLS_PRESET: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium']).default('veryfast'),
  HLS_FRAME_RATE: intFrom(30),
  HLS_PART_MS: intFrom(200),
  HLS_SEGMENT_MS: intFrom(1000),
  HLS_WINDOW_SEGMENTS: intFrom(10),
  HLS_AUDIO_BITRATE: intFrom(96_000),
  HLS_POSTER_INTERVAL_MS: intFrom(4000),
  HLS_PROBE_TIMEOUT_MS: intFrom(10_000),
  FFMPEG_PATH: z.string().default('ffmpeg'),
  FFPROBE_PATH: z.string().default('ffprobe'),
  RECORDING: z.enum(['on', 'off']).default('on'),
  RECORDINGS_DIR: z.string().optional(),
  RECORDING_RETENTION_DAYS: intFrom(30),
  RECORDING_MAX_MB: intFrom(20_000),
  DVR_WINDOW_MINUTES: intFrom(60),
  CLIPS_PER_HOUR: intFrom(10),
});

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  /** Base URL that clients reach this node at; used in Location headers and playback URLs. */
  publicUrl: string | undefined;
  /**
   * The reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For / -Proto / -Host count;
   * empty: none, every client's address is its socket's.
   */
  trustProxy: string[];
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  logLevel: string;
  /** Where embedded storage lives; null keeps it in memory (DATA_DIR=:memory:, for tests). */
  dataDir: string | null;
  databaseUrl: string | undefined;
  natsUrl: string | undefined;
  /** A NATS `.creds` file (JWT + NKEY seed) for decentralised auth. */
  natsCredsFile: string | undefined;
  redisUrl: string | undefined;
  jwtSecret: string | undefined;
  jwtTtlSeconds: number;
  accounts: {
    /** scrypt cost N = 2^log2N (r=8, p=1); 17 is OWASP's minimum. Tests lower it to save time. */
    scryptLog2N: number;
    /** Per hour: wrong passwords per account and per address, new accounts per address. */
    signInLimits: { loginFailuresPerAccount: number; loginFailuresPerAddress: number; registrationsPerAddress: number };
  };
  media: {
    numWorkers: number;
    workerLogLevel: 'debug' | 'warn' | 'error' | 'none';
    listenIp: string;
    announcedAddress: string | undefined;
    rtcMinPort: number;
    rtcMaxPort: number;
    iceServers: IceServer[];
    /** TURN REST API (coturn `use-auth-secret`): credentials minted per client, valid ttlSeconds. */
    turn: { urls: string[]; secret: string; ttlSeconds: number } | undefined;
    /** A publisher whose media stops for this long is taken offline. */
    publisherTimeoutMs: number;
    /**
     * Kernel send/receive buffer of each WebRTC socket. The default 208 KiB overflows on a key-frame
     * burst when the machine is busy (measured: 1-20 % ingest loss at full load); the kernel caps the
     * request at net.core.rmem_max / wmem_max, so raise those on hosts where they are lower.
     */
    socketBufferBytes: number;
    /**
     * Viewers one mediasoup router serves before the stream is piped (pipeToRouter) to a router on
     * another worker and new viewers go there. About 250: one core forwards 720p to ~270 viewers.
     */
    routerMaxViewers: number;
    /** Viewers this node accepts in all; beyond it WHEP answers 307 to another node or 503. */
    maxViewers: number;
    /** WHEP sessions still connecting (ICE/DTLS) per client address; beyond it 429. 0: no limit. */
    pendingViewersPerAddress: number;
  };
  /** Open real-time channel sockets per client address on this node; beyond it the upgrade gets 429. 0: no limit. */
  wsConnectionsPerAddress: number;
  /**
   * RTMP and SRT ingest: one port each for every stream (undefined: that listener is off). With
   * PORT=0 both default to 0 (an ephemeral port) so test nodes and side-by-side nodes never collide.
   */
  ingest: {
    rtmpPort: number | undefined;
    srtPort: number | undefined;
    /** SRT encryption passphrase publishers must use (10-79 characters); undefined: none. */
    srtPassphrase: string | undefined;
    /**
     * SRT receive latency the listener asks for (ms); a connection uses the larger of this and the
     * encoder's own (libsrt's negotiation), so a low-latency path lowers both.
     */
    srtLatencyMs: number;
    /** RTMP connections, and SRT callers connecting or publishing, one address may hold at once. */
    connectionsPerAddress: number;
  };
  /** This node in the scale-out cascade (origin -> relay edges), placed through NATS and Redis. */
  cascade: {
    /** Relays run only with NATS (relay negotiation) and Redis (the registry); `auto` = when both are set. */
    enabled: boolean;
    /** Unique per process; a NATS subject token. */
    nodeId: string;
    /** Where this node is (e.g. eu-west); viewers are sent to, and relays pulled from, the same region first. */
    region: string;
    /** Other regions in order of nearness: the fallbacks when the own region has no room or no copy. */
    peerRegions: string[];
    /** The address other nodes send relayed RTP to (PipeTransport), and the IP it listens on. */
    listenIp: string;
    announcedAddress: string | undefined;
    /** SRTP on relay links: `auto` encrypts when the two ends are on different hosts. */
    srtp: 'auto' | 'on' | 'off';
    /** Relay links one node serves per stream; beyond it further edges pull from relays (a tree). */
    maxDownstream: number;
    heartbeatMs: number;
    /** A node whose heartbeat is older than this is dead: its viewers and relays go elsewhere. */
    nodeTtlMs: number;
    /** Key prefix of the registry in Redis (tests isolate themselves with their own). */
    registryPrefix: string;
    /** CASCADE_SECRET: node records are signed with it and unsigned ones ignored (unset: unsigned). */
    secret: string | undefined;
    /** A relay whose upstream sends no RTP for this long re-attaches elsewhere (pipes have no ICE consent). */
    upstreamSilenceMs: number;
    /** A relay with no viewers and no downstream links for this long is ended. */
    relayIdleMs: number;
    /** False on an origin-only node: WHEP viewers are redirected to edges while one has room. */
    servesViewers: boolean;
  };
  /** HLS/DASH fallback: one ffmpeg ladder per live stream, packaged as LL-HLS, HLS and DASH. */
  hls: {
    /** `always`: every live stream gets a ladder; `off`: WebRTC only (HLS/DASH URLs answer 404). */
    mode: 'always' | 'off';
    /** Rungs as height:kbps, highest first; the ladder takes those at or below the source height. */
    ladder: { height: number; videoBitrate: number }[];
    maxRenditions: number;
    preset: string;
    frameRate: number;
    /** LL-HLS part (fMP4 fragment) and segment (GOP) durations. */
    partMs: number;
    segmentMs: number;
    /** Segments kept in playlists and memory. */
    windowSegments: number;
    audioBitrate: number;
    /** A poster JPEG for the directory every this many ms (0 = none). */
    posterIntervalMs: number;
    /** How long to wait for a decodable key frame before declaring the stream unpackageable. */
    probeTimeoutMs: number;
    ffmpegPath: string;
    ffprobePath: string;
  };
  /**
   * Past broadcasts, live rewind (DVR) and clips: the origin node of a live stream records its
   * ladder's CMAF (no re-encoding) into `dir`; any node that can read `dir` serves it.
   */
  recording: {
    /** RECORDING=on and a ladder (HLS_MODE=always) and somewhere to write (not DATA_DIR=:memory: without RECORDINGS_DIR). */
    enabled: boolean;
    dir: string | null;
    /** Broadcasts older than this are deleted (0 = kept). */
    retentionDays: number;
    /** The recordings may take this many bytes; the oldest broadcasts are evicted beyond it (0 = no budget). */
    maxBytes: number;
    /** How far back the DVR playlist of a live stream reaches. */
    dvrWindowMs: number;
    /** Clips one user may make per hour. */
    clipsPerHour: number;
  };
  webDistDir: string;
  /** The real-time channel's delivery of chat to viewers. */
  chat: {
    /** Chat frames per viewer per second at most (each carries the messages of its window). */
    framesPerSecond: number;
    /** Above this many messages in one window, regular viewers get an evenly spaced sample. */
    maxMessagesPerFrame: number;
    /** Sockets written per event-loop turn during a window's fan-out (the loop reads the bus between). */
    writeSlice: number;
  };
  /** Wallet and tips: amounts in minor units of `currency`. */
  tips: {
    currency: string;
    minAmount: number;
    maxAmount: number;
    /** Platform fee in basis points of each tip (0 = none). */
    feeBps: number;
    /** Group-commit writers (tips are routed to them by streamer), tips per batch, linger before a batch. */
    writers: number;
    maxBatch: number;
    lingerMs: number;
  };
  payments: {
    /** Stripe secret key; without it the development provider credits test funds where `testFunds` allows. */
    stripeSecretKey: string | undefined;
    /**
     * The development provider (free test funds) without a Stripe key: TEST_FUNDS=on, or `auto` (the
     * default) when the node listens on loopback only and NODE_ENV is not production. Never by default
     * on a public address, whatever NODE_ENV says.
     */
    testFunds: boolean;
    stripeWebhookSecret: string | undefined;
    /** Where the Stripe API is reached (tests point it at a local stand-in); unset = Stripe's own host. */
    stripeApiUrl: string | undefined;
    topupMinAmount: number;
    topupMaxAmount: number;
  };
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  let iceServers: IceServer[] = [];
  if (e.ICE_SERVERS) {
    const ice = z.array(IceServer).safeParse(safeJson(e.ICE_SERVERS));
    if (!ice.success) throw new ConfigError('ICE_SERVERS must be a JSON array of {urls, username?, credential?}');
    iceServers = ice.data;
  }
  if (e.NODE_ENV === 'production' && !e.JWT_SECRET) throw new ConfigError('JWT_SECRET is required in production');
  if (e.MEDIASOUP_WORKERS < 1) throw new ConfigError('MEDIASOUP_WORKERS must be >= 1');
  if (e.RTC_MIN_PORT > e.RTC_MAX_PORT) throw new ConfigError('RTC_MIN_PORT must be <= RTC_MAX_PORT');
  if (e.TIP_FEE_BPS < 0 || e.TIP_FEE_BPS > 10_000) throw new ConfigError('TIP_FEE_BPS must be 0..10000');
  if (e.TIP_MIN_AMOUNT < 1 || e.TIP_MAX_AMOUNT < e.TIP_MIN_AMOUNT)
    throw new ConfigError('TIP_MIN_AMOUNT must be >= 1 and <= TIP_MAX_AMOUNT');
  if (e.TOPUP_MIN_AMOUNT < 1 || e.TOPUP_MAX_AMOUNT < e.TOPUP_MIN_AMOUNT)
    throw new ConfigError('TOPUP_MIN_AMOUNT must be >= 1 and <= TOPUP_MAX_AMOUNT');
  if (e.TIP_WRITERS < 1 || e.TIP_BATCH_MAX < 1 || e.TIP_LINGER_MS < 0)
    throw new ConfigError('TIP_WRITERS and TIP_BATCH_MAX must be >= 1, TIP_LINGER_MS >= 0');
  if (e.CHAT_FRAMES_PER_SECOND < 1 || e.CHAT_FRAMES_PER_SECOND > 100) throw new ConfigError('CHAT_FRAMES_PER_SECOND must be 1..100');
  if (e.CHAT_MAX_MESSAGES_PER_FRAME < 1 || e.CHAT_MAX_MESSAGES_PER_FRAME > 10_000)
    throw new ConfigError('CHAT_MAX_MESSAGES_PER_FRAME must be 1..10000');
  if (e.CHAT_WRITE_SLICE < 1) throw new ConfigError('CHAT_WRITE_SLICE must be >= 1');
  if (e.STRIPE_SECRET_KEY && !e.STRIPE_WEBHOOK_SECRET) throw new ConfigError('STRIPE_WEBHOOK_SECRET is required with STRIPE_SECRET_KEY');
  let ladder: { height: number; videoBitrate: number }[];
  try {
    ladder = parseLadder(e.HLS_LADDER);
  } catch (err) {
    throw new ConfigError(`HLS_LADDER: ${(err as Error).message}`);
  }
  if (e.HLS_MAX_RENDITIONS < 1) throw new ConfigError('HLS_MAX_RENDITIONS must be >= 1');
  if (e.HLS_PART_MS < 100 || e.HLS_SEGMENT_MS < e.HLS_PART_MS * 2)
    throw new ConfigError('HLS_PART_MS must be >= 100 and HLS_SEGMENT_MS at least twice HLS_PART_MS');
  if (e.HLS_FRAME_RATE < 1 || e.HLS_FRAME_RATE > 60) throw new ConfigError('HLS_FRAME_RATE must be 1..60');
  if (e.HLS_WINDOW_SEGMENTS < 3) throw new ConfigError('HLS_WINDOW_SEGMENTS must be >= 3');
  if (e.MEDIA_ROUTER_MAX_VIEWERS < 1 || e.MEDIA_MAX_VIEWERS < 0)
    throw new ConfigError('MEDIA_ROUTER_MAX_VIEWERS must be >= 1 and MEDIA_MAX_VIEWERS >= 0 (0 = workers x 250)');
  if (e.CASCADE_HEARTBEAT_MS < 100 || e.CASCADE_NODE_TTL_MS < 2 * e.CASCADE_HEARTBEAT_MS) {
    throw new ConfigError('CASCADE_HEARTBEAT_MS must be >= 100 and CASCADE_NODE_TTL_MS at least twice it');
  }
  if (e.CASCADE_MAX_DOWNSTREAM < 1) throw new ConfigError('CASCADE_MAX_DOWNSTREAM must be >= 1');
  const cascadeEnabled = e.CASCADE === 'on' || (e.CASCADE === 'auto' && !!e.NATS_URL && !!e.REDIS_URL);
  if (cascadeEnabled && (!e.NATS_URL || !e.REDIS_URL))
    throw new ConfigError('CASCADE=on needs NATS_URL (relay negotiation) and REDIS_URL (the node registry)');
  const peerRegions = e.NODE_PEER_REGIONS.split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const listenIp = e.RTC_LISTEN_IP ?? (isLoopback(e.HOST) ? '127.0.0.1' : '0.0.0.0');
  const ingestPort = (name: string, value: string | undefined, fallback: number): number | undefined => {
    if (value === 'off') return undefined;
    if (value === undefined || value === '') return e.PORT === 0 ? 0 : fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name} must be a port (0 = any free port) or "off"`);
    return n;
  };
  const srtPassphrase = e.SRT_PASSPHRASE || undefined;
  if (e.SRT_LATENCY_MS < 20 || e.SRT_LATENCY_MS > 8000) throw new ConfigError('SRT_LATENCY_MS must be 20..8000 (milliseconds)');
  if (srtPassphrase && (srtPassphrase.length < 10 || srtPassphrase.length > 79))
    throw new ConfigError("SRT_PASSPHRASE must be 10 to 79 characters (SRT's own limits)");
  if (e.RECORDING_RETENTION_DAYS < 0 || e.RECORDING_MAX_MB < 0)
    throw new ConfigError('RECORDING_RETENTION_DAYS and RECORDING_MAX_MB must be >= 0');
  if (e.DVR_WINDOW_MINUTES < 1 || e.DVR_WINDOW_MINUTES > 24 * 60) throw new ConfigError('DVR_WINDOW_MINUTES must be 1..1440');
  if (e.CLIPS_PER_HOUR < 0) throw new ConfigError('CLIPS_PER_HOUR must be >= 0');
  const recordingsDir = e.RECORDINGS_DIR ? resolve(e.RECORDINGS_DIR) : e.DATA_DIR === ':memory:' ? null : resolve(e.DATA_DIR, 'recordings');
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    publicUrl: e.PUBLIC_URL?.replace(/\/$/, ''),
    metricsToken: e.METRICS_TOKEN || undefined,
    trustProxy: e.TRUST_PROXY.split(',')
      .map((p) => p.trim())
      .filter(Boolean),
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR === ':memory:' ? null : resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL || undefined,
    natsUrl: e.NATS_URL || undefined,
    natsCredsFile: e.NATS_CREDS_FILE || undefined,
    redisUrl: e.REDIS_URL || undefined,
    jwtSecret: e.JWT_SECRET,
    jwtTtlSeconds: e.JWT_TTL_SECONDS,
    accounts: {
      scryptLog2N: e.PASSWORD_SCRYPT_LOG2N,
      signInLimits: {
        loginFailuresPerAccount: e.LOGIN_FAILURES_PER_ACCOUNT,
        loginFailuresPerAddress: e.LOGIN_FAILURES_PER_ADDRESS,
        registrationsPerAddress: e.REGISTRATIONS_PER_ADDRESS,
      },
    },
    media: {
      numWorkers: e.MEDIASOUP_WORKERS,
      workerLogLevel: e.MEDIASOUP_LOG_LEVEL,
      listenIp,
      announcedAddress: e.RTC_ANNOUNCED_ADDRESS,
      rtcMinPort: e.RTC_MIN_PORT,
      rtcMaxPort: e.RTC_MAX_PORT,
      iceServers,
      turn: e.TURN_SECRET
        ? {
            urls: e.TURN_URLS.split(',')
              .map((u) => u.trim())
              .filter(Boolean),
            secret: e.TURN_SECRET,
            ttlSeconds: e.TURN_CREDENTIAL_TTL_SECONDS,
          }
        : undefined,
      publisherTimeoutMs: e.PUBLISHER_TIMEOUT_MS,
      socketBufferBytes: e.RTC_SOCKET_BUFFER_BYTES,
      routerMaxViewers: e.MEDIA_ROUTER_MAX_VIEWERS,
      maxViewers: e.MEDIA_MAX_VIEWERS || e.MEDIASOUP_WORKERS * 250,
      pendingViewersPerAddress: e.WHEP_PENDING_PER_ADDRESS,
    },
    wsConnectionsPerAddress: e.WS_CONNECTIONS_PER_ADDRESS,
    ingest: {
      rtmpPort: ingestPort('RTMP_PORT', e.RTMP_PORT, 1935),
      srtPort: ingestPort('SRT_PORT', e.SRT_PORT, 9000),
      srtPassphrase,
      srtLatencyMs: e.SRT_LATENCY_MS,
      connectionsPerAddress: Math.max(1, e.INGEST_CONNECTIONS_PER_ADDRESS),
    },
    cascade: {
      enabled: cascadeEnabled,
      nodeId:
        e.NODE_ID ??
        `${hostname()
          .replace(/[^A-Za-z0-9_-]/g, '-')
          .slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`,
      region: e.NODE_REGION,
      peerRegions,
      listenIp: e.CASCADE_LISTEN_IP ?? listenIp,
      announcedAddress: e.CASCADE_ANNOUNCED_ADDRESS ?? e.RTC_ANNOUNCED_ADDRESS,
      srtp: e.CASCADE_SRTP,
      maxDownstream: e.CASCADE_MAX_DOWNSTREAM,
      heartbeatMs: e.CASCADE_HEARTBEAT_MS,
      nodeTtlMs: e.CASCADE_NODE_TTL_MS,
      registryPrefix: e.CASCADE_REGISTRY_PREFIX,
      secret: e.CASCADE_SECRET,
      upstreamSilenceMs: e.CASCADE_UPSTREAM_SILENCE_MS,
      relayIdleMs: e.CASCADE_RELAY_IDLE_MS,
      servesViewers: e.NODE_SERVES_VIEWERS === 'true',
    },
    chat: {
      framesPerSecond: e.CHAT_FRAMES_PER_SECOND,
      maxMessagesPerFrame: e.CHAT_MAX_MESSAGES_PER_FRAME,
      writeSlice: e.CHAT_WRITE_SLICE,
    },
    tips: {
      currency: e.LEDGER_CURRENCY,
      minAmount: e.TIP_MIN_AMOUNT,
      maxAmount: e.TIP_MAX_AMOUNT,
      feeBps: e.TIP_FEE_BPS,
      writers: e.TIP_WRITERS,
      maxBatch: e.TIP_BATCH_MAX,
      lingerMs: e.TIP_LINGER_MS,
    },
    payments: {
      stripeSecretKey: e.STRIPE_SECRET_KEY || undefined,
      testFunds: e.TEST_FUNDS === 'on' || (e.TEST_FUNDS === 'auto' && e.NODE_ENV !== 'production' && isLoopback(e.HOST)),
      stripeWebhookSecret: e.STRIPE_WEBHOOK_SECRET || undefined,
      stripeApiUrl: e.STRIPE_API_URL || undefined,
      topupMinAmount: e.TOPUP_MIN_AMOUNT,
      topupMaxAmount: e.TOPUP_MAX_AMOUNT,
    },
    hls: {
      mode: e.HLS_MODE,
      ladder,
      maxRenditions: e.HLS_MAX_RENDITIONS,
      preset: e.HLS_PRESET,
      frameRate: e.HLS_FRAME_RATE,
      partMs: e.HLS_PART_MS,
      segmentMs: e.HLS_SEGMENT_MS,
      windowSegments: e.HLS_WINDOW_SEGMENTS,
      audioBitrate: e.HLS_AUDIO_BITRATE,
      posterIntervalMs: e.HLS_POSTER_INTERVAL_MS,
      probeTimeoutMs: e.HLS_PROBE_TIMEOUT_MS,
      ffmpegPath: e.FFMPEG_PATH,
      ffprobePath: e.FFPROBE_PATH,
    },
    recording: {
      enabled: e.RECORDING === 'on' && e.HLS_MODE !== 'off' && recordingsDir !== null,
      dir: recordingsDir,
      retentionDays: e.RECORDING_RETENTION_DAYS,
      maxBytes: e.RECORDING_MAX_MB * 1024 * 1024,
      dvrWindowMs: e.DVR_WINDOW_MINUTES * 60_000,
      clipsPerHour: e.CLIPS_PER_HOUR,
    },
    webDistDir: resolve(e.WEB_DIST_DIR ?? new URL('../../web/dist', import.meta.url).pathname),
  };
}

/** "1080:5000,720:2800" (height:kbps) -> rungs. Kept here so config validation needs no media package. */
function parseLadder(text: string): { height: number; videoBitrate: number }[] {
  const rungs = text.split(',').map((part) => {
    const m = /^\s*(\d{2,4})\s*:\s*(\d{2,6})\s*$/.exec(part);
    if (!m) throw new Error(`rung "${part}" is not height:kbps (e.g. 720:2800)`);
    return { height: Number(m[1]), videoBitrate: Number(m[2]) * 1000 };
  });
  return rungs.sort((a, b) => b.height - a.height);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1';
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
