// Feeds the media plane's facts into the stream directory: live when a publisher's media arrives,
// offline when it leaves (on the origin node only: a relay of the stream coming and going on an edge
// changes nothing), and the playback viewer count (WebRTC sessions, here and on relay nodes, plus
// HLS/DASH players; written at most once a second per stream on local WebRTC changes, and every 2 s
// for streams whose audience changes without local events: HTTP players, relays' viewers) for
// streams the real-time channel does not count: while a stream has a channel on this node, the
// channel writes the total over all nodes and all kinds of viewers, and this feed stays quiet.
// On start it clears live flags left by a previous run of this node (embedded mode, single node).
import { clearStaleLiveFlags, type Database, type Logger, type StreamCatalog } from '@onair/platform';
import type { MediaPlane } from '@onair/sfu';

const VIEWER_WRITE_INTERVAL_MS = 1000;
const AUDIENCE_SWEEP_MS = 2000;

export interface PlaybackAudience {
  /** WebRTC viewers plus HTTP players of a stream on this node. */
  count(streamId: string): number;
  /** Streams whose audience changes without media events here (packaged on this node, or relayed). */
  polledStreams(): Iterable<string>;
}

export function linkDirectoryToMedia(
  media: MediaPlane,
  streams: StreamCatalog,
  db: Database,
  log: Logger,
  channelCounts: (streamId: string) => boolean = () => false,
  audience: PlaybackAudience = { count: (id) => media.viewerCount(id), polledStreams: () => [] },
) {
  const pending = new Map<string, NodeJS.Timeout>();
  const written = new Map<string, number>();
  const write = (id: string) => {
    if (media.roleOf(id) !== 'origin' || channelCounts(id)) return;
    const n = audience.count(id);
    if (written.get(id) === n) return;
    written.set(id, n);
    void run('viewers', id, streams.setViewerCount(id, n));
  };
  // HTTP players and relays' viewers come and go without local events: sweep those streams.
  const sweep = setInterval(() => {
    for (const id of audience.polledStreams()) write(id);
  }, AUDIENCE_SWEEP_MS);
  sweep.unref();
  const run = (what: string, streamId: string, p: Promise<unknown>) =>
    p.catch((err) => log.error({ err, streamId }, `directory update failed: ${what}`));

  media.on('live', (id, role) => role !== 'relay' && void run('live', id, streams.markLive(id)));
  media.on('offline', (id, reason, role) => {
    clearTimeout(pending.get(id));
    pending.delete(id);
    written.delete(id);
    if (role === 'relay') return;
    log.info({ streamId: id, reason }, 'stream offline');
    void run('offline', id, streams.markOffline(id));
  });
  media.on('viewers', (id) => {
    if (pending.has(id)) return;
    pending.set(
      id,
      setTimeout(() => {
        pending.delete(id);
        write(id);
      }, VIEWER_WRITE_INTERVAL_MS),
    );
  });
  return {
    ready: db.kind === 'embedded'
      ? clearStaleLiveFlags(db).then((n) => n && log.warn({ streams: n }, 'cleared live flags left by an earlier run'))
      : Promise.resolve(),
    close() {
      clearInterval(sweep);
      for (const t of pending.values()) clearTimeout(t);
      pending.clear();
    },
  };
}
