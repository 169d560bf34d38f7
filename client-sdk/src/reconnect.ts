// Keeps a WHEP viewer watching across server failures: when the stream ends on the far side for a
// reason other than the stream itself ending (the node died, the connection failed, media stopped),
// it POSTs a fresh offer to the same WHEP endpoint, which may answer 307 to another node (fetch
// follows it; the session then lives on that node). Gives up when the stream is offline (404) or
// after `maxAttempts` failed attempts in a row. Owns the current Player and stops it on stop().
import { isOnAirError } from './errors.js';
import { Listeners } from './listeners.js';
import { playWhep, type EndReason, type WhepOptions, type Player } from './whep.js';

export interface ReconnectOptions extends WhepOptions {
  /** Wait before each new attempt. Default 500 ms. */
  retryDelayMs?: number;
  /** Failed attempts in a row before giving up. Default 20. */
  maxAttempts?: number;
}

export type ReconnectState = 'playing' | 'reconnecting' | 'gave_up' | 'stopped';

export interface ReconnectingPlayer {
  /** The Player of the current session (undefined between sessions). */
  readonly player: Player | undefined;
  readonly state: ReconnectState;
  /** Sessions started after the first one. */
  readonly reconnects: number;
  onState(listener: (state: ReconnectState, detail?: string) => void): () => void;
  stop(): Promise<void>;
}

/** Plays like `playWhep()` and reconnects on failure; resolves once the first session is up. */
export async function playWithReconnect(opts: ReconnectOptions): Promise<ReconnectingPlayer> {
  const r = new Reconnector(opts);
  r.adopt(await playWhep(opts));
  return r;
}

class Reconnector implements ReconnectingPlayer {
  player: Player | undefined;
  state: ReconnectState = 'playing';
  reconnects = 0;
  private readonly listeners = new Listeners<[ReconnectState, string | undefined]>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly opts: ReconnectOptions) {}

  onState(listener: (state: ReconnectState, detail?: string) => void): () => void {
    return this.listeners.add(listener);
  }

  adopt(player: Player): void {
    this.player = player;
    this.set('playing');
    player.onEnded((reason: EndReason) => {
      if (this.state === 'stopped') return;
      this.player = undefined;
      this.set('reconnecting', reason);
      this.schedule(1);
    });
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.set('stopped');
    await this.player?.stop();
    this.player = undefined;
  }

  private schedule(attempt: number): void {
    this.timer = setTimeout(() => void this.attempt(attempt), this.opts.retryDelayMs ?? 500);
  }

  private async attempt(attempt: number): Promise<void> {
    if (this.state !== 'reconnecting') return;
    try {
      const player = await playWhep(this.opts);
      if (this.state !== 'reconnecting') return void player.stop();
      this.reconnects++;
      this.adopt(player);
    } catch (err) {
      if (this.state !== 'reconnecting') return;
      if (isOnAirError(err) && err.code === 'stream_offline') return this.set('gave_up', err.code);
      if (attempt >= (this.opts.maxAttempts ?? 20)) return this.set('gave_up', isOnAirError(err) ? err.code : String(err));
      this.schedule(attempt + 1);
    }
  }

  private set(state: ReconnectState, detail?: string): void {
    if (this.state === state && state !== 'reconnecting') return;
    this.state = state;
    this.listeners.emit(state, detail);
  }
}
