// The composition root: `startNode(config)` wires storage, accounts, the stream catalog, the media
// plane, the real-time channel and the HTTP edge into one running OnAir node, in dependency order,
// each long-lived object's release registered as it is made (closed in reverse). The embedded and
// the distributed mode differ only in the adapters the providers (providers.ts) return. Nothing
// else constructs these objects: routes and modules get theirs passed in.
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  Accounts,
  SignInThrottle,
  createLogger,
  StreamCatalog,
  StreamListing,
  StreamModerators,
  type Config,
  type Database,
  type Logger,
} from '@onair/platform';
import { BusTipSink, createStripeClient, registerLedgerMetrics, TipLedger, TipOutboxRelay, TopUps, type Bus } from '@onair/platform';
import { Audience, ChatHistory, ChatModeration, ChatService, StreamActivity, StreamDirectory } from '@onair/platform';
import { broadcastPrefix, BroadcastReplay, Broadcasts, Clips, ReactionLog } from '@onair/platform';
import { ClipCutter, VodOrigin, type StreamRecordings } from '@onair/hls-fallback';
import { registerRecordingRoutes } from './http/recording-routes.js';
import { registerMediaMetrics, RTMP_APP, type MediaPlane, type RtmpListener, type SrtListener } from '@onair/sfu';
import { Cascade } from '@onair/origin-cascade';
import { HttpAudience, PlaybackOrigin, type CmafPackager, type LiveLadders } from '@onair/hls-fallback';
import { registerAuthRoutes } from './http/auth-routes.js';
import { installCors } from './http/cors.js';
import { clientAddressOf } from './http/client-address.js';
import { createHttpServer } from './http/http-server.js';
import { IceServerSource } from './http/ice-servers.js';
import { installSecurityHeaders } from './http/security-headers.js';
import { acceptEmptyJsonBodies, installErrorHandler } from './http/error-handler.js';
import { registerMediaRoutes } from './http/media-routes.js';
import { registerOpsRoutes } from './http/ops-routes.js';
import { playbackUrlsFor, registerStreamRoutes } from './http/stream-routes.js';
import { registerWebApp } from './http/web-app.js';
import { registerThumbnailRoutes } from './http/thumbnail-routes.js';
import { registerPlaybackRoutes } from './http/playback-routes.js';
import { registerStripeWebhook } from './http/stripe-webhook.js';
import { registerTipRoutes } from './http/tip-routes.js';
import { registerWalletRoutes } from './http/wallet-routes.js';
import { linkDirectoryToMedia } from './directory-feed.js';
import {
  createBus,
  createDatabase,
  createDirectoryStore,
  createLadders,
  createMediaPlane,
  createNodeRegistry,
  createRateLimiter,
  createRecordings,
  createRecordingStore,
  createRtmpListener,
  createSrtListener,
  ingestAuthorizer,
} from './providers.js';
import { registerChatRoutes } from './http/chat-routes.js';
import { registerModerationRoutes } from './http/moderation-routes.js';
import { ChannelGateway } from './realtime/gateway.js';
import { registerChannelMetrics } from './realtime/channel-metrics.js';

/** How often nodes share viewer counts (and viewers, the dashboard and the directory see new totals). */
const VIEWER_INTERVAL_MS = 2000;

export interface OnAirNode {
  /** Base URL of this node, e.g. http://127.0.0.1:8080 (the real port when PORT=0). */
  readonly url: string;
  readonly config: Config;
  readonly log: Logger;
  readonly db: Database;
  readonly accounts: Accounts;
  readonly streams: StreamCatalog;
  readonly media: MediaPlane;
  readonly bus: Bus;
  /** The real-time channel's WebSocket gateway (/ws/{streamId}). */
  readonly gateway: ChannelGateway;
  readonly tips: TipLedger;
  readonly tipEvents: TipOutboxRelay;
  readonly topups: TopUps;
  /** This node's part in the origin -> edge relay cascade (undefined when the cascade is off). */
  readonly cascade: Cascade | undefined;
  /** Per-stream HLS/DASH pipelines; undefined when HLS_MODE=off. */
  readonly ladders: LiveLadders<CmafPackager> | undefined;
  /** Past broadcasts (catalog) and this node's recorders; undefined when recording is off. */
  readonly broadcasts: Broadcasts | undefined;
  readonly recordings: StreamRecordings | undefined;
  /** RTMP ingest (its `port` is the bound one when RTMP_PORT=0); undefined when RTMP_PORT=off. */
  readonly rtmp: RtmpListener | undefined;
  /** SRT ingest (its `port` is the bound one when SRT_PORT=0); undefined when SRT_PORT=off or it could not start. */
  readonly srt: SrtListener | undefined;
  close(): Promise<void>;
}

export async function startNode(config: Config, log: Logger = createLogger(config.logLevel)): Promise<OnAirNode> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch((err) => log.error({ err }, 'error during shutdown'));
    cleanups.length = 0;
  };
  try {
    const db = await createDatabase(config);
    cleanups.push(() => db.close());
    log.info({ storage: db.kind }, 'storage ready');
    // Rate limits (chat, slow mode, sign-ins): in Redis when REDIS_URL is set, shared by every node.
    const limiter = await createRateLimiter(config, log);
    cleanups.push(() => limiter.close());
    const accounts = await Accounts.open(db, {
      jwtSecret: config.jwtSecret,
      jwtTtlSeconds: config.jwtTtlSeconds,
      scrypt: { N: 2 ** config.accounts.scryptLog2N, r: 8, p: 1 },
      throttle: new SignInThrottle(limiter, config.accounts.signInLimits),
    });
    const streams = new StreamCatalog(db);
    const moderators = new StreamModerators(db, streams);
    const directoryStore = await createDirectoryStore(config);
    cleanups.push(() => directoryStore.close());
    const directory = new StreamDirectory(streams, new StreamListing(db), directoryStore);
    cleanups.push(() => directory.close());
    const bus = await createBus(config, log);
    cleanups.push(() => bus.close());
    // The real-time channel's state: chat history, moderation (shared over the bus).
    const chatHistory = new ChatHistory(db, log);
    cleanups.push(() => chatHistory.close());
    const moderation = new ChatModeration(db, bus, streams, moderators, chatHistory, log);
    cleanups.push(() => moderation.close());
    const chat = new ChatService({ bus, moderation, limiter, history: chatHistory });
    // Tips: group-committed ledger, then published from the outbox on the stream's bus subject.
    const tips = await TipLedger.open(db, log, config.tips, moderation);
    cleanups.push(() => tips.close());
    const tipEvents = new TipOutboxRelay(db, new BusTipSink(bus), log);
    tips.onCommitted = () => tipEvents.wake();
    tipEvents.start();
    cleanups.push(() => tipEvents.close());
    const stripeKey = config.payments.stripeSecretKey;
    const topups = new TopUps(
      db,
      tips.wallets,
      {
        minAmount: config.payments.topupMinAmount,
        maxAmount: config.payments.topupMaxAmount,
        testFunds: config.payments.testFunds,
        stripe: stripeKey
          ? { client: createStripeClient(stripeKey, config.payments.stripeApiUrl), webhookSecret: config.payments.stripeWebhookSecret! }
          : undefined,
      },
      log,
    );
    log.info({ currency: tips.wallets.currency, topups: topups.provider }, 'wallet ready');

    const media = await createMediaPlane(config, log);
    cleanups.push(() => media.close());
    // Scale-out: relays between nodes need NATS (negotiation) and Redis (the node registry).
    let cascade: Cascade | undefined;
    const nodeRegistry = await createNodeRegistry(config);
    if (nodeRegistry) {
      const c = config.cascade;
      cleanups.push(() => nodeRegistry.close());
      cascade = new Cascade(
        {
          nodeId: c.nodeId,
          region: c.region,
          peerRegions: c.peerRegions,
          listenIp: c.listenIp,
          announcedAddress: c.announcedAddress,
          srtp: c.srtp,
          maxDownstream: c.maxDownstream,
          heartbeatMs: c.heartbeatMs,
          servesViewers: c.servesViewers,
          relayIdleMs: c.relayIdleMs,
          relayRequestTimeoutMs: 5000,
        },
        {
          media,
          bus,
          registry: nodeRegistry,
          log,
          onOriginLost: (id) => {
            log.warn({ streamId: id }, 'origin node died: marking the stream offline');
            void streams
              .markOffline(id, 'origin_lost')
              .catch((err) => log.error({ err, streamId: id }, 'directory update failed: offline'));
          },
        },
      );
      // Leaves the registry before the media plane closes, so no node sends viewers here meanwhile.
      cleanups.push(() => cascade!.close());
    }
    log.info({ workers: media.pool.size }, 'mediasoup workers ready');
    // Recordings: created before the ladders so they close after them (a clean shutdown ends every
    // stream's packager, and its recorder then writes what it holds and finishes its broadcast).
    const recordingStore = createRecordingStore(config);
    const broadcasts = recordingStore ? new Broadcasts(db, recordingStore, log) : undefined;
    const reactionLog = broadcasts ? new ReactionLog(db, bus, log) : undefined;
    if (reactionLog) cleanups.push(() => reactionLog.close());
    const recordings =
      recordingStore && broadcasts && reactionLog ? createRecordings(recordingStore, broadcasts, reactionLog, log) : undefined;
    if (broadcasts && recordings) {
      // Embedded storage is this process's alone: a recording still marked live was cut by its crash.
      if (db.capabilities.singleNode) await broadcasts.closeAbandoned();
      cleanups.push(() => recordings.close());
      const stopEviction = broadcasts.scheduleEviction(
        { retentionDays: config.recording.retentionDays, budgetBytes: config.recording.maxBytes },
        60_000,
      );
      cleanups.push(stopEviction);
      log.info({ dir: config.recording.dir, store: recordings.store.kind }, 'recording broadcasts');
    }
    const ladders = createLadders(config, media, log, recordings);
    if (ladders) cleanups.push(() => ladders.close());
    // RTMP publishers: closed before the media plane (their encoders stop with their streams).
    const authorizeIngest = ingestAuthorizer(streams);
    const rtmp = await createRtmpListener(config, media, authorizeIngest, log);
    if (rtmp) {
      cleanups.push(() => rtmp.close());
      log.info({ port: rtmp.port }, 'rtmp ingest listening');
    }
    const srt = await createSrtListener(config, media, authorizeIngest, log);
    if (srt) {
      cleanups.push(() => srt.close());
      log.info({ port: srt.port, passphrase: !!config.ingest.srtPassphrase }, 'srt ingest listening');
    }
    // Viewers: WebRTC sessions and HTTP players of this node, summed over nodes on the bus.
    const httpAudience = new HttpAudience();
    const audience = new Audience({
      nodeId: config.cascade.nodeId,
      bus,
      log,
      sources: [
        { players: (id) => media.players(id), streams: () => media.playerStreams() },
        { players: (id) => httpAudience.players(id), streams: () => httpAudience.streams() },
      ],
      intervalMs: VIEWER_INTERVAL_MS,
      // Across nodes, counts are summed on each stream's origin (one batch per origin and interval).
      originOf: cascade ? (id) => cascade.originOf(id) : undefined,
    });
    cleanups.push(() => audience.close());
    const feed = linkDirectoryToMedia(media, streams, db, log, audience);
    await feed.ready;
    cleanups.push(() => feed.close());

    const metrics = new Registry();
    collectDefaultMetrics({ register: metrics });
    registerMediaMetrics(metrics, media);
    registerLedgerMetrics(metrics, tips, tipEvents);

    const app = Fastify({
      loggerInstance: log as FastifyBaseLogger,
      // One line per event: our routes log what matters; Fastify's per-request lines would double it.
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: 1024 * 1024,
      // Forwarding headers count only from the proxies the operator names (TRUST_PROXY): otherwise any
      // client could choose its address (viewer counts, rate limits) or the host in URLs we hand out.
      trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
      serverFactory: (handler) => createHttpServer(handler),
    });
    cleanups.push(() => app.close());
    const gateway = new ChannelGateway({
      accounts,
      streams,
      bus,
      chat,
      history: chatHistory,
      moderation,
      audience,
      log,
      isLive: (id) => media.isBroadcasting(id),
      channel: config.chat,
      limits: { connectionsPerAddress: config.wsConnectionsPerAddress },
      addressOf: clientAddressOf(config.trustProxy),
    });
    cleanups.push(() => gateway.close());
    gateway.attach(app.server);
    registerChannelMetrics(metrics, gateway, bus);
    // Only the origin's start and end change a stream's status; a relay coming and going does not.
    const onLive = (id: string, role?: string) => role !== 'relay' && gateway.streamStatus(id, true);
    const onOffline = (id: string, _reason: string, role?: string) => role !== 'relay' && gateway.streamStatus(id, false);
    media.on('live', onLive);
    media.on('offline', onOffline);
    cleanups.push(() => {
      media.off('live', onLive);
      media.off('offline', onOffline);
    });
    installErrorHandler(app, log);
    acceptEmptyJsonBodies(app);
    installCors(app);
    installSecurityHeaders(app);
    let baseUrl = config.publicUrl ?? '';
    const urls = playbackUrlsFor('');
    const absolute = {
      whip: (id: string) => baseUrl + urls.whip(id),
      whep: (id: string) => baseUrl + urls.whep(id),
      hls: (id: string) => baseUrl + urls.hls(id),
      dash: (id: string) => baseUrl + urls.dash(id),
      thumbnail: (id: string) => baseUrl + urls.thumbnail(id),
      // Encoders reach the ingest ports on the host clients reach this node at.
      rtmp: () => (rtmp ? `rtmp://${new URL(baseUrl).host.replace(/:\d+$/, '')}:${rtmp.port}/${RTMP_APP}` : null),
      srt: () => (srt ? `srt://${new URL(baseUrl).host.replace(/:\d+$/, '')}:${srt.port}` : null),
    };
    registerOpsRoutes(app, {
      registry: metrics,
      metricsToken: config.metricsToken,
      checks: [
        { name: 'database', check: () => db.ping() },
        { name: 'mediasoup', check: async () => media.pool.size > 0 },
      ],
    });
    registerAuthRoutes(app, { accounts });
    registerStreamRoutes(app, {
      accounts,
      streams,
      moderators,
      directory,
      urls: absolute,
      onKeyRotated: (id) => media.endStream(id, 'stream_key_rotated'),
      onModeratorChanged: (id, userId, isModerator) => moderation.moderatorChanged(id, userId, isModerator),
    });
    registerChatRoutes(app, { streams, history: chatHistory, chat });
    registerModerationRoutes(app, { accounts, moderation, activity: new StreamActivity(db, moderation) });
    registerMediaRoutes(app, {
      media,
      streams,
      iceServers: new IceServerSource(config.media.iceServers, config.media.turn),
      placement: cascade,
    });
    registerTipRoutes(app, { accounts, tips });
    registerWalletRoutes(app, { accounts, wallets: tips.wallets, topups });
    await registerStripeWebhook(app, { topups });
    registerPlaybackRoutes(app, {
      // The MPD's UTCTiming URL: this node's own base URL, never a request's Host header (manifests are cached).
      timeUrl: () => `${baseUrl}/time`,
      origin: new PlaybackOrigin({ get: (id) => ladders?.sink(id), pending: (id) => ladders?.pending(id) }),
      audience: httpAudience,
      ...(cascade
        ? {
            locate: async (id: string) => {
              const url = await cascade.originUrl(id).catch(() => undefined);
              return url && url !== baseUrl ? url : undefined;
            },
          }
        : {}),
    });
    if (broadcasts && recordings) {
      registerRecordingRoutes(app, {
        accounts,
        streams,
        broadcasts,
        store: recordings.store,
        replay: new BroadcastReplay(db),
        clips: new Clips(
          db,
          recordings.store,
          broadcasts,
          new ClipCutter(recordings.store, { ffmpegPath: config.hls.ffmpegPath }),
          limiter,
          { clipsPerHour: config.recording.clipsPerHour },
          log,
        ),
        vod: new VodOrigin(
          recordings.store,
          {
            find: async (id) => {
              const b = await broadcasts.lookup(id);
              if (b === 'deleted') return 'deleted';
              return b ? { prefix: broadcastPrefix(b.id), status: b.status, startedAtMs: b.startedAtMs } : undefined;
            },
          },
          { dvrWindowSec: config.recording.dvrWindowMs / 1000, timeUrl: () => `${baseUrl}/time` },
        ),
        baseUrl: () => baseUrl,
      });
    }
    registerThumbnailRoutes(app, {
      thumbnails: { poster: (id) => ladders?.get(id)?.poster },
      maxAgeSeconds: Math.max(1, Math.round(config.hls.posterIntervalMs / 1000)),
    });
    await registerWebApp(app, config.webDistDir);

    await app.listen({ host: config.host, port: config.port });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
    baseUrl = config.publicUrl ?? `http://${host}:${port}`;
    log.info({ url: baseUrl, storage: db.kind, workers: media.pool.size }, 'OnAir node listening');
    await cascade?.start(baseUrl);

    let closing: Promise<void> | undefined;
    return {
      url: baseUrl,
      config,
      log,
      db,
      accounts,
      streams,
      media,
      bus,
      gateway,
      tips,
      tipEvents,
      topups,
      cascade,
      ladders,
      broadcasts,
      recordings,
      rtmp,
      srt,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
