// `/`: the streams that are live now, refreshed every few seconds, each linking to its watch page.
import type { Stream } from '@onair/client-sdk';
import { fill, h, messageOf } from '../dom.js';
import type { Page } from '../router.js';
import { client } from '../session.js';

// Polling is cheap: GET /api/streams answers with an ETag and `Cache-Control: no-cache`, so the
// browser's HTTP cache revalidates each poll with If-None-Match and the server answers 304.
const REFRESH_MS = 5000;

export const directoryPage: Page = (root) => {
  document.title = 'Live now · OnAir';
  const list = h('ul', { class: 'stream-grid', 'aria-live': 'polite', 'aria-busy': 'true' });
  const status = h('p', { class: 'status', role: 'status' }, 'Loading…');
  root.append(h('h1', {}, 'Live now'), status, list);

  let timer: ReturnType<typeof setTimeout> | undefined;
  let active = true;
  const refresh = async () => {
    try {
      const { items } = await client().listStreams({ live: true, sort: 'viewers' });
      if (!active) return;
      fill(list, ...items.map(streamCard));
      status.textContent = items.length ? '' : 'Nobody is live right now. Check back soon, or go live yourself.';
    } catch (err) {
      if (active) status.textContent = `Could not load the directory: ${messageOf(err)}`;
    }
    list.setAttribute('aria-busy', 'false');
    if (active) timer = setTimeout(refresh, REFRESH_MS);
  };
  void refresh();

  return () => {
    active = false;
    clearTimeout(timer);
  };
};

function streamCard(stream: Stream) {
  const viewers = `${stream.viewerCount} ${stream.viewerCount === 1 ? 'viewer' : 'viewers'}`;
  return h(
    'li',
    { class: 'stream-card' },
    h(
      'a',
      { href: `/watch/${encodeURIComponent(stream.id)}`, 'data-link': true },
      h('span', { class: 'badge live' }, 'Live'),
      h('strong', { class: 'title' }, stream.title || 'Untitled stream'),
      stream.ownerName ? h('span', { class: 'owner' }, stream.ownerName) : null,
      h('span', { class: 'meta' }, [viewers, stream.category, stream.language].filter(Boolean).join(' · ')),
      stream.tags?.length ? h('span', { class: 'tags' }, stream.tags.map((t) => `#${t}`).join(' ')) : null,
    ),
  );
}
