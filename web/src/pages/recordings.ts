// Past broadcasts and clips in the web app: the stream page's list of its broadcasts and clips, the
// "Clip" button of a live stream, `/broadcast/:id` (the recording with a seek bar over HLS and its
// chat replayed beside it, following seeks; clip a range; the owner deletes it) and `/clip/:id` (the
// clip's MP4 with a download and a link to its moment in the broadcast). Talks to the recordings API
// only (docs/api.md "Recordings and clips"); each page owns its player and timers and stops them on leave.
import { h, messageOf } from '../dom.js';
import { formatAgo } from '../components/durations.js';
import { showNotFound } from './not-found.js';
import type { Page } from '../router.js';
import { isOnAirError, type ReplayEvent } from '@onair/client-sdk';
import { client, loadAuth } from '../session.js';

/** "1:02:03" or "2:03" */
export function formatClock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const mm = String(Math.floor((s % 3600) / 60));
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

const pathOf = (url: string) => {
  const u = new URL(url, location.origin);
  return u.pathname + u.search;
};

/**
 * The stream page's "Past broadcasts" and "Clips" (refreshed when `refresh()` is called, e.g. on going
 * offline) and its live "Clip" control; both stay hidden on a server that does not record.
 */
export function recordingsSection(
  streamId: string,
  opts: { pollMs?: number } = {},
): { element: HTMLElement; clipControl: HTMLElement; refresh(): void; dispose(): void } {
  // The newest broadcast's recording stopped early (disk full, write error): said at the top (the dashboard polls for it).
  const notice = h('p', { class: 'error recording-notice', role: 'alert', hidden: true });
  const broadcasts = h('ul', { class: 'recording-list', 'aria-label': 'Past broadcasts' });
  const clips = h('ul', { class: 'recording-list', 'aria-label': 'Clips' });
  const element = h(
    'section',
    { class: 'card recordings', 'aria-labelledby': 'past-broadcasts-heading' },
    h('h2', { id: 'past-broadcasts-heading' }, 'Past broadcasts'),
    notice,
    broadcasts,
    h('h2', {}, 'Clips'),
    clips,
  );
  element.hidden = true;
  let clipControl: HTMLElement;
  const refresh = () => {
    void client()
      .listBroadcasts(streamId)
      .then(({ items }) => {
        element.hidden = false;
        clipControl.hidden = false;
        const newest = items[0];
        notice.hidden = !(newest?.status === 'partial' && newest.stopReason);
        notice.textContent = notice.hidden ? '' : `Recording stopped: ${newest!.stopReason}. The stream itself was not affected.`;
        const live = items.find((b) => b.status === 'recording');
        rewind.hidden = !live;
        if (live) rewind.href = `/broadcast/${live.id}`;
        broadcasts.replaceChildren(
          ...(items.length
            ? items.map((b) =>
                h(
                  'li',
                  { class: 'recording-item' },
                  h('a', { href: `/broadcast/${b.id}`, 'data-link': true }, b.title || 'Untitled broadcast'),
                  ' ',
                  h(
                    'span',
                    { class: 'meta' },
                    `${formatAgo(b.startedAt)} · ${formatClock(b.durationMs)}${b.status === 'recording' ? ' · live now' : b.status === 'partial' ? ' · cut short' : ''}`,
                  ),
                ),
              )
            : [h('li', { class: 'hint' }, 'No past broadcasts yet.')]),
        );
      })
      .catch((err: unknown) => {
        // No such route: this server does not record (RECORDING=off or HLS_MODE=off).
        if (isOnAirError(err) && err.code === 'not_found') return;
        element.hidden = false;
        broadcasts.replaceChildren(h('li', { class: 'hint' }, 'Past broadcasts could not be loaded.'));
      });
    void client()
      .listClips(streamId)
      .then(({ items }) => {
        clips.replaceChildren(
          ...(items.length
            ? items.map((c) =>
                h(
                  'li',
                  { class: 'recording-item' },
                  h('a', { href: `/clip/${c.id}`, 'data-link': true }, c.title),
                  ' ',
                  h('span', { class: 'meta' }, `${formatClock(c.durationMs)} · by ${c.clippedBy} · ${formatAgo(c.createdAt)}`),
                ),
              )
            : [h('li', { class: 'hint' }, 'No clips yet.')]),
        );
      })
      .catch(() => clips.replaceChildren());
  };
  // Rewind: WebRTC (or LL-HLS) viewers go to the broadcast's DVR playlist for the past; its Live button brings them back here.
  const rewind = h('a', { href: '#', 'data-link': true, class: 'button rewind', hidden: true }, '⏪ Rewind');
  clipControl = h('span', { class: 'clip-control' }, rewind, liveClipButton(streamId, refresh));
  clipControl.hidden = true;
  refresh();
  const poll = opts.pollMs ? setInterval(refresh, opts.pollMs) : undefined;
  return { element, clipControl, refresh, dispose: () => clearInterval(poll) };
}

/** "Clip the last 30 s" for a live stream; the clip's link appears next to it. */
function liveClipButton(streamId: string, onMade: () => void): HTMLElement {
  const status = h('span', { class: 'hint', role: 'status' });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'clip-button',
      onclick: async () => {
        if (!loadAuth()) {
          status.textContent = 'Sign in to clip.';
          return;
        }
        button.disabled = true;
        status.textContent = 'Clipping…';
        try {
          const clip = await client().clipLive(streamId, 30);
          status.replaceChildren('Clipped: ', h('a', { href: `/clip/${clip.id}`, 'data-link': true }, 'open the clip'));
          onMade();
        } catch (err) {
          status.textContent = messageOf(err);
        } finally {
          button.disabled = false;
        }
      },
    },
    '✂ Clip 30 s',
  );
  return h('span', { class: 'clip-control' }, button, ' ', status);
}

/** Plays an HLS URL in `video` with hls.js (or natively where the browser can); returns its cleanup. */
async function playHls(video: HTMLVideoElement, src: string, startSec: number): Promise<() => void> {
  const { default: Hls } = await import('hls.js');
  if (Hls.isSupported()) {
    // -1: a live (DVR) playlist starts at its live edge
    const hls = new Hls({ startPosition: startSec > 0 ? startSec : -1 });
    hls.loadSource(src);
    hls.attachMedia(video);
    return () => hls.destroy();
  }
  video.src = src;
  video.addEventListener('loadedmetadata', () => (video.currentTime = startSec), { once: true });
  return () => {
    video.removeAttribute('src');
    video.load();
  };
}

/** The chat of a past broadcast, replayed at the player's position: fetched per minute, redrawn on every time update and seek. */
function chatReplay(broadcastId: string, video: HTMLVideoElement): { element: HTMLElement; dispose(): void } {
  const log = h('ul', { class: 'chat-log', 'aria-live': 'off', 'aria-label': 'Chat replay' });
  const element = h('aside', { class: 'card chat chat-replay', 'aria-label': 'Chat replay' }, h('h2', {}, 'Chat replay'), log);
  const minutes = new Map<number, ReplayEvent[] | 'loading'>();
  let shown = -1;
  let disposed = false;
  const load = (minute: number) => {
    if (minute < 0 || minutes.has(minute)) return;
    minutes.set(minute, 'loading');
    void client()
      .broadcastChat(broadcastId, { fromMs: minute * 60_000, toMs: (minute + 1) * 60_000 })
      .then(({ items }) => {
        minutes.set(minute, items);
        shown = -1;
        render();
      })
      .catch(() => minutes.delete(minute));
  };
  const render = () => {
    if (disposed) return;
    const nowMs = video.currentTime * 1000;
    const minute = Math.floor(nowMs / 60_000);
    load(minute);
    load(minute + 1);
    if (minute > 0) load(minute - 1);
    const due: ReplayEvent[] = [];
    for (const [m, events] of minutes)
      if (events !== 'loading' && m <= minute) for (const e of events) if (e.offsetMs <= nowMs) due.push(e);
    if (due.length === shown) return;
    shown = due.length;
    due.sort((a, b) => a.offsetMs - b.offsetMs);
    log.replaceChildren(
      ...due.slice(-100).map((e) => {
        const at = h('span', { class: 'meta replay-time' }, formatClock(e.offsetMs), ' ');
        if (e.type === 'chat')
          return h('li', { class: 'chat-message', 'data-offset': e.offsetMs }, at, h('strong', {}, e.username), ': ', e.text);
        if (e.type === 'tip')
          return h(
            'li',
            { class: 'chat-tip', 'data-offset': e.offsetMs },
            at,
            h('span', { class: 'tip-badge' }, `${(e.amount / 100).toFixed(2)} ${e.currency}`),
            ' ',
            h('strong', {}, e.fromUsername),
            e.message ? ` ${e.message}` : '',
          );
        return h(
          'li',
          { class: 'chat-reactions', 'data-offset': e.offsetMs },
          at,
          Object.entries(e.counts)
            .map(([emoji, n]) => `${emoji}×${n}`)
            .join(' '),
        );
      }),
    );
    log.scrollTop = log.scrollHeight;
  };
  const onSeek = () => {
    shown = -1;
    render();
  };
  video.addEventListener('timeupdate', render);
  video.addEventListener('seeked', onSeek);
  return {
    element,
    dispose: () => {
      disposed = true;
      video.removeEventListener('timeupdate', render);
      video.removeEventListener('seeked', onSeek);
    },
  };
}

/** `/broadcast/:id`: a past broadcast with its chat replay; `?t=` starts at that second. */
export const broadcastPage: Page = (root, ctx) => {
  const id = ctx.params.id ?? '';
  document.title = 'Past broadcast · OnAir';
  let active = true;
  const cleanups: (() => void)[] = [];
  root.replaceChildren(h('p', { class: 'hint', role: 'status' }, 'Loading the broadcast…'));
  client()
    .getBroadcast(id)
    .then(async (b) => {
      if (!active) return;
      document.title = `${b.title || 'Past broadcast'} · OnAir`;
      const video = h('video', { controls: true, playsInline: true, class: 'vod-video' });
      const replay = chatReplay(b.id, video);
      cleanups.push(() => replay.dispose());
      const status = h('p', { class: 'hint', role: 'status' });
      const length = h(
        'select',
        { 'aria-label': 'Clip length' },
        ...[10, 30, 60].map((s) => h('option', { value: String(s), selected: s === 30 }, `${s} s`)),
      );
      const clipButton = h(
        'button',
        {
          type: 'button',
          onclick: async () => {
            if (!loadAuth()) {
              status.textContent = 'Sign in to clip.';
              return;
            }
            const durationMs = Number(length.value) * 1000;
            const startMs = Math.max(0, Math.round(video.currentTime * 1000));
            clipButton.disabled = true;
            try {
              const clip = await client().clipBroadcast(b.id, { startMs, durationMs });
              status.replaceChildren('Clipped: ', h('a', { href: `/clip/${clip.id}`, 'data-link': true }, 'open the clip'));
            } catch (err) {
              status.textContent = messageOf(err);
            } finally {
              clipButton.disabled = false;
            }
          },
        },
        '✂ Clip from here',
      );
      // While the stream is live this page is its rewind: the DVR playlist, and "Live" back to the watch page.
      const dvr = b.status === 'recording' && b.playback.dvr;
      const liveButton = dvr
        ? h('button', { type: 'button', class: 'live-button', onclick: () => ctx.navigate(`/watch/${b.streamId}`) }, '● Live')
        : null;
      const owner = await client()
        .getStream(b.streamId)
        .catch(() => undefined);
      const isOwner = !!owner?.ownerId && owner.ownerId === loadAuth()?.user.id;
      const remove = isOwner
        ? h(
            'button',
            {
              type: 'button',
              class: 'danger',
              onclick: async () => {
                if (!confirm('Delete this broadcast? It is removed at once, with its clips.')) return;
                try {
                  await client().deleteBroadcast(b.id);
                  ctx.navigate(`/watch/${b.streamId}`);
                } catch (err) {
                  status.textContent = messageOf(err);
                }
              },
            },
            'Delete broadcast',
          )
        : null;
      root.replaceChildren(
        h(
          'div',
          { class: 'watch-head' },
          h('h1', {}, b.title || 'Past broadcast'),
          h(
            'p',
            { class: 'meta' },
            `Broadcast ${formatAgo(b.startedAt)} · ${formatClock(b.durationMs)}`,
            b.status === 'recording'
              ? ' · live now: you are rewinding (Live returns to the stream)'
              : b.status === 'partial'
                ? ` · cut short (${b.stopReason ?? 'the recording stopped'})`
                : '',
            ' · ',
            h('a', { href: `/watch/${b.streamId}`, 'data-link': true }, 'the stream'),
          ),
        ),
        h(
          'div',
          { class: 'watch-layout' },
          h(
            'section',
            { class: 'watch-main', 'aria-label': 'Player' },
            h('div', { class: 'player-frame' }, video),
            h('div', { class: 'actions' }, liveButton, length, clipButton, remove),
            status,
          ),
          replay.element,
        ),
      );
      const t = Number(new URLSearchParams(location.search).get('t') ?? '0');
      const stop = await playHls(video, dvr || b.playback.hls, Number.isFinite(t) && t > 0 ? t : 0);
      if (dvr) void video.play().catch(() => {});
      if (!active) return stop();
      cleanups.push(stop);
    })
    .catch((err: unknown) => {
      if (!active) return;
      if (isOnAirError(err) && (err.status === 404 || err.status === 400))
        return showNotFound(root, 'Broadcast not found', 'There is no past broadcast at this address. It may have been deleted.');
      root.replaceChildren(h('p', { class: 'error', role: 'alert' }, `The broadcast could not be loaded: ${messageOf(err)}`));
    });
  return () => {
    active = false;
    for (const c of cleanups) c();
  };
};

/** `/clip/:id`: the clip, its download, and its moment in the broadcast. */
export const clipPage: Page = (root, ctx) => {
  const id = ctx.params.id ?? '';
  document.title = 'Clip · OnAir';
  let active = true;
  root.replaceChildren(h('p', { class: 'hint', role: 'status' }, 'Loading the clip…'));
  client()
    .getClip(id)
    .then((c) => {
      if (!active) return;
      document.title = `${c.title} · OnAir`;
      root.replaceChildren(
        h(
          'section',
          { class: 'clip-page' },
          h('h1', {}, c.title),
          h(
            'p',
            { class: 'meta' },
            `${formatClock(c.durationMs)} from ${c.streamer}'s stream · clipped by ${c.clippedBy} ${formatAgo(c.createdAt)}`,
          ),
          h('video', { controls: true, playsInline: true, src: pathOf(c.mp4), class: 'vod-video' }),
          h(
            'p',
            { class: 'actions' },
            h('a', { href: `${pathOf(c.mp4)}?download=1`, download: `clip-${c.id}.mp4`, class: 'button' }, 'Download MP4'),
            h('a', { href: pathOf(c.broadcastUrl), 'data-link': true }, 'Watch the broadcast from this moment'),
            h('a', { href: `/watch/${c.streamId}`, 'data-link': true }, `${c.streamer}'s stream`),
          ),
        ),
      );
    })
    .catch((err: unknown) => {
      if (!active) return;
      if (isOnAirError(err) && (err.status === 404 || err.status === 400))
        return showNotFound(root, 'Clip not found', 'There is no clip at this address. It may have been deleted with its broadcast.');
      root.replaceChildren(h('p', { class: 'error', role: 'alert' }, `The clip could not be loaded: ${messageOf(err)}`));
    });
  return () => {
    active = false;
  };
};
