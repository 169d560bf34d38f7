// `/watch/:id`: plays a stream over WHEP. Shows "Offline" (with Retry, and retries by itself) while
// the stream is not live and "Stream ended" once the player ends or the directory says the stream
// went offline. The current player is exposed as `window.onairPlayer`.
import { isOnAirError, play, type Player, type Stream } from '@onair/client-sdk';
import { fill, h, messageOf } from '../dom.js';
import type { Page } from '../router.js';
import { client } from '../session.js';

const OFFLINE_RETRY_MS = 10_000;
const STATUS_POLL_MS = 5000;

export const watchPage: Page = (root, { params }) => {
  const id = params.id ?? '';
  document.title = 'Watch · OnAir';
  const title = h('h1', {}, 'Stream');
  const meta = h('p', { class: 'meta' });
  const video = h('video', { class: 'player', controls: true, muted: true, autoplay: true, playsInline: true, 'aria-label': 'Live video' });
  const overlay = h('div', { class: 'player-state', role: 'status', 'aria-live': 'polite' });
  root.append(title, meta, h('div', { class: 'player-frame' }, video, overlay));

  let player: Player | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let active = true;

  const show = (state: string, text: string, action?: { label: string; run: () => void }) => {
    overlay.dataset.state = state;
    fill(overlay, h('p', {}, text), action ? h('button', { type: 'button', onclick: action.run }, action.label) : null);
  };

  const describe = (stream: Stream) => {
    title.textContent = stream.title || 'Untitled stream';
    document.title = `${title.textContent} · OnAir`;
    meta.textContent = [stream.live ? `${stream.viewerCount} watching` : 'Offline', stream.category, stream.language].filter(Boolean).join(' · ');
  };

  const ended = () => {
    if (!active) return;
    clearTimeout(timer);
    show('ended', 'Stream ended', { label: 'Watch again', run: () => void start() });
  };

  // The directory is a second opinion on "ended", for when the media path cannot tell (no DTLS close).
  const pollStatus = (current: Player, seenLive: boolean) => {
    timer = setTimeout(async () => {
      if (!active || player !== current || current.endReason) return;
      try {
        const stream = await client().getStream(id);
        if (!active || player !== current) return;
        describe(stream);
        if (seenLive && !stream.live) {
          await current.stop();
          ended();
          return;
        }
        seenLive ||= stream.live;
      } catch {
        // Keep playing; the media path decides.
      }
      pollStatus(current, seenLive);
    }, STATUS_POLL_MS);
  };

  /** `quiet` keeps the current message up (automatic retries while offline). */
  const start = async (quiet = false) => {
    clearTimeout(timer);
    await player?.stop();
    player = undefined;
    if (!active) return;
    if (!quiet) show('connecting', 'Connecting…');
    let stream: Stream | undefined;
    try {
      stream = await client().getStream(id);
      if (!active) return;
      describe(stream);
    } catch (err) {
      if (isOnAirError(err) && err.status === 404) return show('missing', 'There is no such stream.');
      // The directory being unreachable should not stop playback; try the media path anyway.
    }
    try {
      const whepUrl = new URL(stream?.playback?.whep ?? `/whep/${encodeURIComponent(id)}`, location.origin).href;
      const next = await play({ whepUrl, video });
      if (!active) return void next.stop();
      player = next;
      window.onairPlayer = next;
      overlay.dataset.state = 'playing';
      fill(overlay);
      next.onEnded(ended);
      pollStatus(next, stream?.live ?? false);
    } catch (err) {
      if (!active) return;
      if (isOnAirError(err) && (err.code === 'stream_offline' || err.status === 404 || err.status === 409)) {
        show('offline', 'Offline', { label: 'Retry', run: () => void start() });
        timer = setTimeout(() => void start(true), OFFLINE_RETRY_MS);
      } else {
        show('error', `Could not play this stream: ${messageOf(err)}`, { label: 'Retry', run: () => void start() });
      }
    }
  };
  void start();

  return () => {
    active = false;
    clearTimeout(timer);
    void player?.stop();
  };
};
