// The watch page's player: the <video>, the "Low latency / Standard" indicator, the quality menu and
// the state overlay (Connecting, Offline with Retry, Stream ended, errors), a LIVE badge instead of a
// seek bar (live video has nothing to seek), mute and full-screen buttons, and a "Click to unmute"
// overlay (browsers only autoplay muted video). Plays with the SDK's
// play(), which picks WebRTC and falls back to HLS/DASH by itself; the view re-starts it on Retry and
// retries by itself while the stream is offline. Owns the StreamPlayer and stops it on dispose().
// Exposes the player as `window.onairStreamPlayer` and the WHEP player as `window.onairPlayer`.
import { isOnAirError, play, type Stream, type StreamPlayer } from '@onair/client-sdk';
import { fill, h, messageOf } from '../../dom.js';
import { client } from '../../session.js';

const OFFLINE_RETRY_MS = 10_000;
const STATUS_POLL_MS = 5000;

export interface PlayerView {
  /** The frame to put overlays (reactions, tip alerts) into. */
  frame: HTMLElement;
  bar: HTMLElement;
  /** (Re)starts playback, e.g. when the channel says the stream went live. */
  start(quiet?: boolean): void;
  /** The stream went live (per the channel): starts playing if offline or ended. */
  wentLive(): void;
  /** The stream went offline (per the channel): shows the end if it was playing. */
  wentOffline(): void;
  dispose(): void;
}

export function playerView(streamId: string, onStream: (stream: Stream) => void, offlineText: () => string = () => 'Offline'): PlayerView {
  const video = h('video', { class: 'player', muted: true, autoplay: true, playsInline: true, 'aria-label': 'Live video' });
  const overlay = h('div', { class: 'player-state', role: 'status', 'aria-live': 'polite' });
  const unmute = h('button', { type: 'button', class: 'unmute', hidden: true }, '🔇 Click to unmute');
  const frame = h('div', { class: 'player-frame' }, video, overlay, unmute);
  const liveBadge = h('span', { class: 'badge live', hidden: true }, 'LIVE');
  const mute = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'true' }, 'Unmute');
  const fullscreen = h('button', { type: 'button', class: 'secondary' }, 'Full screen');
  const latency = h('span', { class: 'latency', 'data-transport': '' }, '');
  const quality = h(
    'select',
    { name: 'quality', id: 'f-quality', 'aria-label': 'Quality', disabled: true },
    h('option', { value: 'auto' }, 'Auto'),
  );
  const bar = h(
    'div',
    { class: 'player-bar' },
    liveBadge,
    mute,
    fullscreen,
    latency,
    h('label', { class: 'visually-hidden', for: 'f-quality' }, 'Quality'),
    quality,
  );

  const renderSound = () => {
    mute.hidden = fullscreen.hidden = overlay.dataset.state !== 'playing';
    mute.textContent = video.muted ? 'Unmute' : 'Mute';
    mute.setAttribute('aria-pressed', String(video.muted));
    unmute.hidden = !video.muted || overlay.dataset.state !== 'playing';
  };
  const toggleSound = () => {
    video.muted = !video.muted;
    renderSound();
  };
  mute.addEventListener('click', toggleSound);
  unmute.addEventListener('click', toggleSound);
  video.addEventListener('volumechange', renderSound);
  fullscreen.addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => {});
    else void frame.requestFullscreen?.().catch(() => {});
  });

  let player: StreamPlayer | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let active = true;
  let playing = false;
  let run = 0;

  const show = (state: string, text: string, action?: { label: string; run: () => void }) => {
    overlay.dataset.state = state;
    liveBadge.hidden = true;
    renderSound();
    fill(overlay, h('p', {}, text), action ? h('button', { type: 'button', onclick: action.run }, action.label) : null);
  };

  const renderTransport = (p: StreamPlayer) => {
    const low = p.latency === 'low';
    latency.dataset.transport = p.transport ?? '';
    latency.className = `latency ${p.latency ?? ''}`;
    latency.textContent = p.transport ? (low ? 'Low latency' : 'Standard') : '';
    latency.title =
      p.transport === 'webrtc'
        ? 'WebRTC: under a second behind live'
        : p.transport
          ? `${p.transport.toUpperCase()}: a few seconds behind live`
          : '';
    const options = p.qualities();
    fill(
      quality,
      ...options.map((q) =>
        h(
          'option',
          { value: String(q.id), selected: q.id === p.quality },
          q.id === 'auto' ? (p.transport === 'webrtc' ? 'Auto (adapts to your connection)' : 'Auto') : q.label,
        ),
      ),
    );
    quality.disabled = options.length < 2;
  };

  quality.addEventListener('change', () => player?.setQuality(quality.value === 'auto' ? 'auto' : Number(quality.value)));

  const ended = () => {
    if (!active) return;
    clearTimeout(timer);
    playing = false;
    show('ended', 'Stream ended', { label: 'Watch again', run: () => start() });
  };

  // The directory is a second opinion on "ended", for when the media path cannot tell.
  const pollStatus = (current: StreamPlayer, seenLive: boolean) => {
    timer = setTimeout(async () => {
      if (!active || player !== current || current.state !== 'playing') return;
      try {
        const stream = await client().getStream(streamId);
        if (!active || player !== current) return;
        onStream(stream);
        if (seenLive && !stream.live) {
          await current.stop();
          return ended();
        }
        seenLive ||= stream.live;
      } catch {
        // Keep playing; the media path decides.
      }
      pollStatus(current, seenLive);
    }, STATUS_POLL_MS);
  };

  const start = async (quiet = false) => {
    const mine = ++run;
    clearTimeout(timer);
    const old = player;
    player = undefined;
    await old?.stop();
    if (!active || mine !== run) return;
    if (!quiet) show('connecting', 'Connecting…');
    let stream: Stream | undefined;
    try {
      stream = await client().getStream(streamId);
      if (!active || mine !== run) return;
      onStream(stream);
    } catch (err) {
      if (isOnAirError(err) && err.status === 404) return show('missing', 'This stream no longer exists.');
    }
    const base = location.origin;
    const id = encodeURIComponent(streamId);
    const playback = stream?.playback ?? {
      whep: `${base}/whep/${id}`,
      hls: `${base}/hls/${id}/index.m3u8`,
      dash: `${base}/dash/${id}/manifest.mpd`,
    };
    try {
      const next = await play({ playback, video });
      if (!active || mine !== run) return void next.stop();
      player = next;
      window.onairStreamPlayer = next;
      const onChange = (p: StreamPlayer) => {
        if (player !== p) return;
        renderTransport(p);
        if (p.whep) window.onairPlayer = p.whep;
        if (p.state === 'playing') {
          playing = true;
          overlay.dataset.state = 'playing';
          fill(overlay);
          liveBadge.hidden = false;
          renderSound();
        } else if (p.state === 'reconnecting') show('reconnecting', 'Reconnecting…');
        else if (p.state === 'ended' || (p.state === 'offline' && playing)) ended();
        else if (p.state === 'offline') offline();
        else if (p.state === 'failed')
          show('error', `Playback stopped: ${p.fallbacks.at(-1) ?? 'no transport works'}`, { label: 'Retry', run: () => start() });
      };
      next.onChange(onChange);
      onChange(next);
      if (next.state === 'playing') pollStatus(next, stream?.live ?? false);
    } catch (err) {
      if (!active || mine !== run) return;
      show('error', `Could not play this stream: ${messageOf(err)}`, { label: 'Retry', run: () => start() });
    }
  };

  const offline = () => {
    show('offline', offlineText(), { label: 'Retry', run: () => start() });
    clearTimeout(timer);
    timer = setTimeout(() => void start(true), OFFLINE_RETRY_MS);
  };

  // Closing the tab ends the session at once (the SDK's DELETE goes out with keepalive): the viewer
  // stops counting now, not when ICE consent runs out about 15 s later.
  const onPageHide = () => void player?.stop();
  window.addEventListener('pagehide', onPageHide);

  return {
    frame,
    bar,
    start: (quiet) => void start(quiet),
    wentLive: () => {
      if (overlay.dataset.state === 'offline' || overlay.dataset.state === 'ended') void start(true);
    },
    wentOffline: () => {
      if (playing) {
        void player?.stop();
        player = undefined;
        ended();
      }
    },
    dispose: () => {
      active = false;
      run++;
      clearTimeout(timer);
      window.removeEventListener('pagehide', onPageHide);
      void player?.stop();
    },
  };
}
