// Counts the HLS/DASH players of each stream as seen by this origin: distinct players that fetched one
// of the stream's playlists or manifests within the last window, each known by the client id the SDK
// sends (the same id as its WebRTC session, so a player falling back to HLS stays one viewer), or by
// address plus user agent for players that send none. Players
// reload a live playlist at least every target duration, so a player that stopped drops out within
// the window. Behind a CDN the origin sees the CDN, not the players: there the CDN's own logs count.
export class HttpAudience {
  private readonly seen = new Map<string, Map<string, number>>();

  constructor(
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Notes that `client` fetched a playlist of `streamId`. */
  saw(streamId: string, client: string): void {
    let clients = this.seen.get(streamId);
    if (!clients) this.seen.set(streamId, (clients = new Map()));
    clients.set(client, this.now());
  }

  /** The players of `streamId` within the window (a PlayerSource for the node's Audience). */
  *players(streamId: string): Iterable<string> {
    if (this.count(streamId) === 0) return;
    yield* this.seen.get(streamId)!.keys();
  }

  /** Streams with players within the window. */
  streams(): Iterable<string> {
    return [...this.seen.keys()];
  }

  /** Distinct clients of `streamId` within the window (expired ones are forgotten as a side effect). */
  count(streamId: string): number {
    const clients = this.seen.get(streamId);
    if (!clients) return 0;
    const since = this.now() - this.windowMs;
    for (const [client, at] of clients) if (at < since) clients.delete(client);
    if (!clients.size) this.seen.delete(streamId);
    return clients.size;
  }
}
