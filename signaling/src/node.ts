// The composition root: `startNode(config)` wires storage, accounts, the stream catalog, the media
// plane and the HTTP edge into one running OnAir node. The embedded mode and the distributed mode
// differ only in which adapters are chosen here from config. Nothing else constructs these objects.
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Accounts, createLogger, openDatabase, StreamCatalog, type Config, type Database, type Logger } from '@onair/platform';
import { BusTipSink, createStripeClient, openBus, registerLedgerMetrics, TipLedger, TipOutboxRelay, TopUps, type Bus } from '@onair/platform';
import { Audience, ChatHistory, ChatModeration, ChatService, openRateLimiter, StreamActivity } from '@onair/platform';
import { MemoryDirectoryStore, RedisDirectoryStore, StreamDirectory } from '@onair/platform';
import { MediaPlane, registerMediaMetrics } from '@onair/sfu';
import { Cascade, NodeRegistry } from '@onair/origin-cascade';
import { HttpAudience, LadderPackager, ladderSettings, LivePackagers } from '@onair/hls-fallback';
import { registerAuthRoutes } from './http/auth-routes.js';
import { installCors } from './http/cors.js';
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
import { registerChatRoutes } from './http/chat-routes.js';
import { registerModerationRoutes } from './http/moderation-routes.js';
import { ChannelGateway } from './realtime/gateway.js';
import { registerChannelMetrics } from './realtime/channel-metrics.js';

/** How long an ended stream's final playlists (with ENDLIST) stay readable. */
const ENDED_PLAYLIST_GRACE_MS = 30_000;
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
  readonly packagers: LivePackagers<LadderPackager> | undefined;
  close(): Promise<void>;
}

export async function startNode(config: Config, log: Logger = createLogger(config.logLevel)): Promise<OnAirNode> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch((err) => log.error({ err }, 'error during shutdown'));
    cleanups.length = 0;
  };
  try {
    const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    cleanups.push(() => db.close());
    log.info({ storage: db.kind }, 'storage ready');
    const accounts = await Accounts.open(db, { jwtSecret: config.jwtSecret, jwtTtlSeconds: config.jwtTtlSeconds });
    const streams = new StreamCatalog(db);
    // The directory's page cache and frozen listings: shared by all nodes through Redis when configured.
    const directoryStore = config.redisUrl ? await RedisDirectoryStore.connect(config.redisUrl) : new MemoryDirectoryStore();
    cleanups.push(() => directoryStore.close());
    const directory = new StreamDirectory(streams, directoryStore);
    cleanups.push(() => directory.close());
    const bus = await openBus({ natsUrl: config.natsUrl, name: 'onair-node' }, log);
    cleanups.push(() => bus.close());
    // The real-time channel's state: chat history, moderation (shared over the bus), rate limits.
    const limiter = await openRateLimiter(config.redisUrl, log);
    cleanups.push(() => limiter.close());
    const chatHistory = new ChatHistory(db, log);
    cleanups.push(() => chatHistory.close());
    const moderation = new ChatModeration(db, bus, streams, chatHistory, log);
    cleanups.push(() => moderation.close());
    const chat = new ChatService({ bus, moderation, limiter, history: chatHistory });
    // Tips: group-committed ledger, then published from the outbox on the stream's bus subject.
    const tips = await TipLedger.open(db, log, config.tips);
    cleanups.push(() => tips.close());
    const tipEvents = new TipOutboxRelay(db, new BusTipSink(bus), log);
    tips.onCommitted = () => tipEvents.wake();
    tipEvents.start();
    cleanups.push(() => tipEvents.close());
    const stripeKey = config.payments.stripeSecretKey;
    const topups = new TopUps(db, tips.wallets, {
      minAmount: config.payments.topupMinAmount,
      maxAmount: config.payments.topupMaxAmount,
      env: config.env,
      stripe: stripeKey ? { client: createStripeClient(stripeKey, config.payments.stripeApiUrl), webhookSecret: config.payments.stripeWebhookSecret! } : undefined,
    }, log);
    log.info({ currency: tips.wallets.currency, topups: topups.provider }, 'wallet ready');

    const media = await MediaPlane.start(
      {
        numWorkers: config.media.numWorkers,
        workerLogLevel: config.media.workerLogLevel,
        rtcMinPort: config.media.rtcMinPort,
        rtcMaxPort: config.media.rtcMaxPort,
        listenIp: config.media.listenIp,
        announcedAddress: config.media.announcedAddress,
        publisherTimeoutMs: config.media.publisherTimeoutMs,
        socketBufferBytes: config.media.socketBufferBytes,
        routerMaxViewers: config.media.routerMaxViewers,
        maxViewers: config.media.maxViewers,
        upstreamSilenceMs: config.cascade.upstreamSilenceMs,
      },
      log,
    );
    cleanups.push(() => media.close());
    // Scale-out: relays between nodes need NATS (negotiation) and Redis (the node registry).
    let cascade: Cascade | undefined;
    if (config.cascade.enabled) {
      const c = config.cascade;
      const registry = await NodeRegistry.connect(config.redisUrl!, c.registryPrefix, c.nodeTtlMs);
      cleanups.push(() => registry.close());
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
          registry,
          log,
          onOriginLost: (id) => {
            log.warn({ streamId: id }, 'origin node died: marking the stream offline');
            void streams.markOffline(id).catch((err) => log.error({ err, streamId: id }, 'directory update failed: offline'));
          },
        },
      );
      // Leaves the registry before the media plane closes, so no node sends viewers here meanwhile.
      cleanups.push(() => cascade!.close());
    }
    log.info({ workers: media.pool.size }, 'mediasoup workers ready');
    // HLS/DASH: one supervised ffmpeg ladder per live stream, packaged in memory for the playback routes.
    const packagerOptions = { partTargetMs: config.hls.partMs, segmentTargetMs: config.hls.segmentMs, windowSegments: config.hls.windowSegments, log };
    const packagers =
      config.hls.mode === 'off'
        ? undefined
        : new LivePackagers<LadderPackager>(
            media,
            {
              settings: ladderSettings(config.hls),
              createSink: (id, tracks) => new LadderPackager(id, tracks, packagerOptions),
              endedGraceMs: ENDED_PLAYLIST_GRACE_MS,
            },
            log,
          );
    if (packagers) cleanups.push(() => packagers.close());
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
    });
    cleanups.push(() => audience.close());
    const feed = linkDirectoryToMedia(media, streams, db, log, audience);
    await feed.ready;
    cleanups.push(() => feed.close());

    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    registerMediaMetrics(registry, media);
    registerLedgerMetrics(registry, tips, tipEvents);

    const app = Fastify({
      loggerInstance: log as FastifyBaseLogger,
      // One line per event: our routes log what matters; Fastify's per-request lines would double it.
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: 1024 * 1024,
      trustProxy: true,
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
    });
    cleanups.push(() => gateway.close());
    gateway.attach(app.server);
    registerChannelMetrics(registry, gateway, bus);
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
    let baseUrl = config.publicUrl ?? '';
    const urls = playbackUrlsFor('');
    const absolute = {
      whip: (id: string) => baseUrl + urls.whip(id),
      whep: (id: string) => baseUrl + urls.whep(id),
      hls: (id: string) => baseUrl + urls.hls(id),
      dash: (id: string) => baseUrl + urls.dash(id),
      thumbnail: (id: string) => baseUrl + urls.thumbnail(id),
    };
    registerOpsRoutes(app, {
      registry,
      checks: [
        { name: 'database', check: () => db.ping() },
        { name: 'mediasoup', check: async () => media.pool.size > 0 },
      ],
    });
    registerAuthRoutes(app, { accounts });
    registerStreamRoutes(app, {
      accounts,
      streams,
      directory,
      urls: absolute,
      onKeyRotated: (id) => media.endStream(id, 'stream_key_rotated'),
      onModeratorChanged: (id, userId, isModerator) => moderation.moderatorChanged(id, userId, isModerator),
    });
    registerChatRoutes(app, { streams, history: chatHistory });
    registerModerationRoutes(app, { accounts, moderation, activity: new StreamActivity(db, moderation) });
    registerMediaRoutes(app, { media, streams, iceServers: config.media.iceServers, placement: cascade });
    registerTipRoutes(app, { accounts, tips });
    registerWalletRoutes(app, { accounts, wallets: tips.wallets, topups });
    await registerStripeWebhook(app, { topups });
    registerPlaybackRoutes(app, {
      packagers: { get: (id) => packagers?.sink(id), pending: (id) => packagers?.pending(id) },
      audience: httpAudience,
      ...(cascade ? { locate: async (id: string) => {
        const url = await cascade.originUrl(id).catch(() => undefined);
        return url && url !== baseUrl ? url : undefined;
      } } : {}),
    });
    registerThumbnailRoutes(app, {
      thumbnails: { poster: (id) => packagers?.get(id)?.poster },
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
      packagers,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
