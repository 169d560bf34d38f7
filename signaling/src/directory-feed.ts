// Feeds the media plane's facts into the stream directory, on the stream's origin node only (a relay
// of the stream coming and going on an edge changes nothing): live when a publisher's media arrives,
// offline when it leaves, and while it is live the viewer total the node's Audience computes (written
// when it changes, at most once per audience interval). On start it clears live flags left by a
// previous run of this node (embedded mode, single node). close() removes every listener it added.
import { clearStaleLiveFlags, type Audience, type Database, type Logger, type StreamCatalog } from '@onair/platform';
import type { MediaPlane, MediaPlaneEvents } from '@onair/sfu';

export interface DirectoryFeed {
  /** Settled once stale live flags are cleared. */
  ready: Promise<unknown>;
  close(): void;
}

export function linkDirectoryToMedia(
  media: MediaPlane,
  streams: StreamCatalog,
  db: Database,
  log: Logger,
  audience: Audience,
): DirectoryFeed {
  const unwatch = new Map<string, () => void>();
  const run = (what: string, streamId: string, p: Promise<unknown>) =>
    p.catch((err) => log.error({ err, streamId }, `directory update failed: ${what}`));

  const onLive: (...a: MediaPlaneEvents['live']) => void = (id, role) => {
    if (role === 'relay' || unwatch.has(id)) return;
    void run('live', id, streams.markLive(id));
    let written = -1;
    unwatch.set(
      id,
      audience.watch(id, (total) => {
        if (total === written) return;
        written = total;
        void run('viewers', id, streams.setViewerCount(id, total));
      }),
    );
  };
  const onOffline: (...a: MediaPlaneEvents['offline']) => void = (id, reason, role) => {
    if (role === 'relay') return;
    unwatch.get(id)?.();
    unwatch.delete(id);
    log.info({ streamId: id, reason }, 'stream offline');
    void run('offline', id, streams.markOffline(id, reason));
  };
  media.on('live', onLive);
  media.on('offline', onOffline);
  return {
    ready: db.capabilities.singleNode
      ? clearStaleLiveFlags(db).then((n) => n && log.warn({ streams: n }, 'cleared live flags left by an earlier run'))
      : Promise.resolve(),
    close() {
      media.off('live', onLive);
      media.off('offline', onOffline);
      for (const stop of unwatch.values()) stop();
      unwatch.clear();
    },
  };
}
