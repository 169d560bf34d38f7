// play(): watch a stream with the best transport that works. WebRTC (WHEP) first, for the lowest
// latency; when WebRTC is unavailable, refused (node full, relay unavailable, network error) or does
// not connect in time (UDP blocked), it falls back by itself to LL-HLS (hls.js, or the browser's
// native HLS on Safari/iOS) and then DASH (dash.js). A WebRTC session that drops is re-attached over
// WHEP first and falls back the same way. hls.js and dash.js are loaded on demand (dynamic import),
// so pages that play over WebRTC never download them. The StreamPlayer owns the current session
// (peer connection or HTTP player) and releases it on stop().
import { errorFromResponse, isOnAirError, OnAirError, request } from './errors.js';
import { Listeners } from './listeners.js';
import { playWhep, type Player as WhepPlayer } from './whep.js';

export type Transport = 'webrtc' | 'hls' | 'native-hls' | 'dash';
export type Latency = 'low' | 'standard';
export type PlayerState = 'connecting' | 'playing' | 'reconnecting' | 'offline' | 'ended' | 'failed' | 'stopped';

export interface Quality {
  /** `auto`, or an index into the rendition list. */
  id: 'auto' | number;
  label: string;
  height?: number;
  bitrate?: number;
}

/** Loaders for the HTTP players; override to load them from elsewhere (or to bundle them eagerly). */
export interface PlayerModules {
  hls?: () => Promise<typeof import('hls.js')>;
  dash?: () => Promise<typeof import('dashjs')>;
}

export interface PlayerOptions {
  /** The stream's playback URLs (`stream.playback` from the API). */
  playback: { whep: string; hls: string; dash: string };
  video: HTMLVideoElement;
  /** Transports to try, in order. Default `['webrtc', 'hls', 'dash']`. */
  transports?: Array<'webrtc' | 'hls' | 'dash'>;
  iceServers?: RTCIceServer[];
  /** How long WebRTC may take to connect before falling back. Default 10000. */
  connectTimeoutMs?: number;
  /** See WhepOptions.mediaTimeoutMs. Default 10000. */
  mediaTimeoutMs?: number;
  /** How long an HTTP player may take to show a first picture before the next transport. Default 20000. */
  httpStartTimeoutMs?: number;
  /** Reconnect attempts after a drop before giving up. Default 10. */
  maxReconnects?: number;
  /**
   * Who this player is for viewer counts (8-64 of `A-Z a-z 0-9 _ -`), sent with every transport so a
   * player that falls back from WebRTC to HLS stays one viewer. Default: a random id per player.
   */
  clientId?: string;
  modules?: PlayerModules;
}

export interface StreamPlayer {
  readonly transport: Transport | undefined;
  readonly latency: Latency | undefined;
  readonly state: PlayerState;
  /** The WHEP player while on WebRTC. */
  readonly whep: WhepPlayer | undefined;
  /** Why each transport was left or skipped, oldest first (e.g. `webrtc: node_full`). */
  readonly fallbacks: readonly string[];
  /** `auto` plus each rendition of the current transport (WebRTC: `auto` only, the server adapts). */
  qualities(): Quality[];
  readonly quality: Quality['id'];
  setQuality(id: Quality['id']): void;
  onChange(listener: (player: StreamPlayer) => void): () => void;
  stop(): Promise<void>;
}

const DEFAULT_MODULES: Required<PlayerModules> = {
  hls: () => import('hls.js'),
  dash: () => import('dashjs'),
};

/** Resolves once a transport plays (or the stream is offline: state `offline`); rejects if none works. */
export async function play(opts: PlayerOptions): Promise<StreamPlayer> {
  const p = new FallbackPlayer(opts);
  await p.start();
  return p;
}

interface Session {
  transport: Transport;
  qualities(): Quality[];
  setQuality(id: Quality['id']): void;
  quality: Quality['id'];
  whep?: WhepPlayer;
  /** Called once the session fails or ends after it started. */
  stop(): Promise<void>;
}

type Ended = (reason: 'ended' | 'failed', detail: string) => void;

class FallbackPlayer implements StreamPlayer {
  state: PlayerState = 'connecting';
  fallbacks: string[] = [];
  private session: Session | undefined;
  private readonly changes = new Listeners<[StreamPlayer]>();
  private reconnects = 0;
  private generation = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  /** Sent with every transport: see PlayerOptions.clientId. */
  private readonly clientId: string;

  constructor(private readonly opts: PlayerOptions) {
    this.clientId = opts.clientId ?? newClientId();
  }

  get transport(): Transport | undefined {
    return this.session?.transport;
  }
  get latency(): Latency | undefined {
    return this.session ? (this.session.transport === 'webrtc' ? 'low' : 'standard') : undefined;
  }
  get whep(): WhepPlayer | undefined {
    return this.session?.whep;
  }
  get quality(): Quality['id'] {
    return this.session?.quality ?? 'auto';
  }
  qualities(): Quality[] {
    return this.session?.qualities() ?? [{ id: 'auto', label: 'Auto' }];
  }
  setQuality(id: Quality['id']): void {
    this.session?.setQuality(id);
    this.emit();
  }
  onChange(listener: (player: StreamPlayer) => void): () => void {
    return this.changes.add(listener);
  }

  async stop(): Promise<void> {
    this.generation++;
    clearTimeout(this.retryTimer);
    this.state = 'stopped';
    const s = this.session;
    this.session = undefined;
    await s?.stop().catch(() => {});
    this.emit();
    this.changes.clear();
  }

  /** Tries each transport in order; the first that plays wins. */
  async start(): Promise<void> {
    const gen = ++this.generation;
    const order = this.opts.transports ?? ['webrtc', 'hls', 'dash'];
    let offline = false;
    let lastError: unknown;
    for (const t of order) {
      if (gen !== this.generation) return;
      try {
        let session: Session | undefined;
        session = await this.open(t, (reason, detail) => this.onSessionEnd(gen, session, reason, detail));
        if (gen !== this.generation) return void session.stop();
        this.session = session;
        this.state = 'playing';
        this.emit();
        return;
      } catch (err) {
        lastError = err;
        const code = isOnAirError(err) ? err.code : String((err as Error)?.message ?? err);
        if (t === 'webrtc' && (code === 'stream_offline' || code === 'stream_not_found')) offline = true;
        this.fallbacks.push(`${t}: ${code}`);
        if (offline && t === 'webrtc') break; // HLS and DASH cannot have a stream WHEP says is offline
      }
    }
    if (gen !== this.generation) return;
    this.state = offline ? 'offline' : 'failed';
    this.emit();
    if (!offline) throw lastError instanceof Error ? lastError : new OnAirError(0, 'playback_failed', String(lastError));
  }

  private onSessionEnd(gen: number, session: Session | undefined, reason: 'ended' | 'failed', detail: string): void {
    if (gen !== this.generation || !session || session !== this.session) return; // not adopted yet: start() handles it
    const old = this.session;
    this.session = undefined;
    void old?.stop().catch(() => {});
    this.fallbacks.push(`${old?.transport ?? '?'}: ${detail}`);
    if (reason === 'ended') {
      this.state = 'ended';
      this.emit();
      return;
    }
    if (this.reconnects >= (this.opts.maxReconnects ?? 10)) {
      this.state = 'failed';
      this.emit();
      return;
    }
    this.reconnects++;
    this.state = 'reconnecting';
    this.emit();
    this.retryTimer = setTimeout(() => {
      this.start().catch(() => {});
    }, 500);
  }

  private open(t: 'webrtc' | 'hls' | 'dash', ended: Ended): Promise<Session> {
    if (t === 'webrtc') return this.openWebRtc(ended);
    if (t === 'hls') return this.openHls(ended);
    return this.openDash(ended);
  }

  private async openWebRtc(ended: Ended): Promise<Session> {
    if (typeof RTCPeerConnection === 'undefined') throw new OnAirError(0, 'webrtc_unsupported', 'this browser has no WebRTC');
    const whepOpts = {
      whepUrl: withClient(this.opts.playback.whep, this.clientId),
      video: this.opts.video,
      ...(this.opts.iceServers ? { iceServers: this.opts.iceServers } : {}),
      mediaTimeoutMs: this.opts.mediaTimeoutMs ?? 10_000,
    };
    let whep: WhepPlayer | undefined;
    // 409 stream_starting: the publisher is connected and its media about to arrive; retry shortly.
    for (let attempt = 1; !whep; attempt++) {
      try {
        whep = await playWhep(whepOpts);
      } catch (err) {
        if (!(isOnAirError(err) && err.code === 'stream_starting' && attempt < 8)) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    const connected = await waitConnected(whep.pc, this.opts.connectTimeoutMs ?? 10_000);
    if (!connected) {
      await whep.stop();
      throw new OnAirError(0, 'webrtc_connect_timeout', 'WebRTC did not connect in time (UDP blocked?)');
    }
    let done = false;
    whep.onEnded((reason) => {
      if (done) return;
      done = true;
      // A stream that ended on its own is over; anything else is worth a reconnect.
      void streamIsLive(this.opts.playback.whep).then((live) => ended(live ? 'failed' : 'ended', `webrtc ${reason}`));
    });
    return {
      transport: 'webrtc',
      whep,
      quality: 'auto',
      qualities: () => [{ id: 'auto', label: 'Auto' }],
      setQuality: () => {},
      stop: async () => {
        done = true;
        await whep.stop();
      },
    };
  }

  private async openHls(ended: Ended): Promise<Session> {
    const url = this.opts.playback.hls;
    await waitForManifest(url, this.opts.httpStartTimeoutMs ?? 20_000);
    const video = this.opts.video;
    const Hls = (await (this.opts.modules?.hls ?? DEFAULT_MODULES.hls)()).default;
    if (!Hls.isSupported()) {
      if (video.canPlayType('application/vnd.apple.mpegurl')) return this.openNativeHls(url, ended);
      throw new OnAirError(0, 'hls_unsupported', 'this browser cannot play HLS');
    }
    const clientId = this.clientId;
    const hls = new Hls({
      lowLatencyMode: true,
      backBufferLength: 30,
      // Same-origin or CORS-allowed: the server counts this player as the same viewer as its WebRTC session.
      xhrSetup: (xhr) => xhr.setRequestHeader('X-OnAir-Client', clientId),
    });
    let fatal: string | undefined;
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal) return;
      fatal = data.details;
      const gone = data.response?.code === 404 || data.response?.code === 410;
      ended(gone ? 'ended' : 'failed', `hls ${data.details}`);
    });
    resetVideo(video);
    hls.loadSource(url);
    hls.attachMedia(video);
    const cleanupEnded = onVideoEnded(video, () => ended('ended', 'hls endlist'));
    try {
      await waitForPicture(video, this.opts.httpStartTimeoutMs ?? 20_000, () => fatal);
    } catch (err) {
      cleanupEnded();
      hls.destroy();
      throw err;
    }
    let quality: Quality['id'] = 'auto';
    return {
      transport: 'hls',
      get quality() {
        return quality;
      },
      qualities: () => [
        { id: 'auto', label: 'Auto' },
        ...hls.levels.map((l, i) => ({ id: i, label: `${l.height}p`, height: l.height, bitrate: l.bitrate })),
      ],
      setQuality: (id) => {
        quality = id;
        hls.currentLevel = id === 'auto' ? -1 : id;
      },
      stop: async () => {
        cleanupEnded();
        hls.destroy();
      },
    };
  }

  private async openNativeHls(url: string, ended: Ended): Promise<Session> {
    const video = this.opts.video;
    resetVideo(video);
    video.src = withClient(url, this.clientId);
    video.play().catch(() => {});
    const cleanupEnded = onVideoEnded(video, () => ended('ended', 'native-hls ended'));
    const onError = () => ended('failed', `native-hls error ${video.error?.code ?? ''}`);
    video.addEventListener('error', onError);
    const stop = async () => {
      cleanupEnded();
      video.removeEventListener('error', onError);
      video.removeAttribute('src');
      video.load();
    };
    try {
      await waitForPicture(video, this.opts.httpStartTimeoutMs ?? 20_000, () => undefined);
    } catch (err) {
      await stop(); // a player that never showed a picture leaves no listener behind
      throw err;
    }
    return { transport: 'native-hls', quality: 'auto', qualities: () => [{ id: 'auto', label: 'Auto' }], setQuality: () => {}, stop };
  }

  private async openDash(ended: Ended): Promise<Session> {
    const url = withClient(this.opts.playback.dash, this.clientId);
    await waitForManifest(url, this.opts.httpStartTimeoutMs ?? 20_000);
    const dashjs = await (this.opts.modules?.dash ?? DEFAULT_MODULES.dash)();
    const video = this.opts.video;
    resetVideo(video);
    const dash = dashjs.MediaPlayer().create();
    let fatal: string | undefined;
    dash.on(dashjs.MediaPlayer.events.ERROR, (e: { error?: { code?: number; message?: string } }) => {
      fatal = `dash error ${e.error?.code ?? ''} ${e.error?.message ?? ''}`.trim();
      ended('failed', fatal);
    });
    dash.updateSettings({ streaming: { delay: { liveDelay: 3 }, liveCatchup: { enabled: true } } });
    dash.initialize(video, url, true);
    const cleanupEnded = onVideoEnded(video, () => ended('ended', 'dash ended'));
    try {
      await waitForPicture(video, this.opts.httpStartTimeoutMs ?? 20_000, () => fatal);
    } catch (err) {
      cleanupEnded();
      dash.destroy();
      throw err;
    }
    let quality: Quality['id'] = 'auto';
    const reps = () => dash.getRepresentationsByType('video');
    return {
      transport: 'dash',
      get quality() {
        return quality;
      },
      qualities: () => [
        { id: 'auto', label: 'Auto' },
        ...reps().map((r, i) => ({ id: i, label: `${r.height}p`, height: r.height, bitrate: r.bandwidth })),
      ],
      setQuality: (id) => {
        quality = id;
        dash.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: id === 'auto' } } } });
        if (id !== 'auto') dash.setRepresentationForTypeByIndex('video', id, true);
      },
      stop: async () => {
        cleanupEnded();
        dash.destroy();
      },
    };
  }

  private emit(): void {
    this.changes.emit(this);
  }
}

function resetVideo(video: HTMLVideoElement): void {
  video.srcObject = null;
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
}

function onVideoEnded(video: HTMLVideoElement, fn: () => void): () => void {
  video.addEventListener('ended', fn);
  return () => video.removeEventListener('ended', fn);
}

function waitConnected(pc: RTCPeerConnection, timeoutMs: number): Promise<boolean> {
  if (pc.connectionState === 'connected') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      pc.removeEventListener('connectionstatechange', check);
      resolve(ok);
    };
    const check = () => {
      if (pc.connectionState === 'connected') done(true);
      else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') done(false);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    pc.addEventListener('connectionstatechange', check);
  });
}

/** Polls the manifest until it answers 200; 404/410 mean the transport has nothing to play. */
async function waitForManifest(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(url, { method: 'GET', headers: { accept: '*/*' } });
    if (res.ok) {
      await res.body?.cancel().catch(() => {});
      return;
    }
    const retryable = res.status === 503 || res.status === 429;
    if (!retryable || Date.now() >= until) {
      throw await errorFromResponse(res);
    }
    const after = Number(res.headers.get('retry-after')) || 1;
    await new Promise((r) => setTimeout(r, Math.min(after * 1000, 2000)));
  }
}

function waitForPicture(video: HTMLVideoElement, timeoutMs: number, fatal: () => string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = setInterval(() => {
      const f = fatal();
      if (f) {
        clearInterval(tick);
        reject(new OnAirError(0, 'player_error', f));
      } else if (video.videoWidth > 0 && video.readyState >= 2) {
        clearInterval(tick);
        video.play().catch(() => {});
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(tick);
        reject(new OnAirError(0, 'player_timeout', 'no picture in time'));
      }
    }, 100);
  });
}

/** After a WebRTC drop: is the stream still live (then reconnect) or did it end? */
/** The URL with the player's client id as `?client=` (WHEP offers and DASH manifests carry it so). */
function withClient(url: string, clientId: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}client=${encodeURIComponent(clientId)}`;
}

/** A random client id (URL-safe, 22 characters). */
function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

async function streamIsLive(whepUrl: string): Promise<boolean> {
  try {
    const u = new URL(whepUrl, globalThis.location?.href);
    const id = u.pathname.split('/').filter(Boolean).pop() ?? '';
    const res = await fetch(`${u.origin}/api/streams/${encodeURIComponent(id)}`);
    if (!res.ok) return false;
    return ((await res.json()) as { live?: boolean }).live === true;
  } catch {
    return true; // the node is unreachable: try again, maybe elsewhere
  }
}
