// `/`: the streams that are live now, with a search box and filters (category, language, tag, sort)
// kept in the address bar (`/?q=&category=&language=&tag=&sort=`), refreshed every few seconds. Each
// card shows the stream's thumbnail, viewer count and tags, and links to its watch page.
import type { Stream, StreamQuery } from '@onair/client-sdk';
import { field, fill, h, messageOf } from '../dom.js';
import type { Page } from '../router.js';
import { client } from '../session.js';
import { LANGUAGES, languageName } from '../components/languages.js';

// Polling is cheap: GET /api/streams answers with an ETag and `Cache-Control: no-cache`, so the
// browser's HTTP cache revalidates each poll with If-None-Match and the server answers 304.
const REFRESH_MS = 5000;
const SEARCH_DEBOUNCE_MS = 300;

const CATEGORIES = ['Music', 'Gaming', 'Talk', 'Coding', 'Art', 'Sports', 'Testing'];

export const directoryPage: Page = (root) => {
  document.title = 'Live now · OnAir';
  const params = new URLSearchParams(location.search);
  const q = h('input', {
    type: 'search',
    name: 'q',
    placeholder: 'Search titles, tags, streamers…',
    value: params.get('q') ?? '',
    autocomplete: 'off',
  });
  const category = h(
    'select',
    { name: 'category' },
    h('option', { value: '' }, 'All categories'),
    ...CATEGORIES.map((c) => h('option', { value: c }, c)),
  );
  const language = h(
    'select',
    { name: 'language' },
    h('option', { value: '' }, 'All languages'),
    ...LANGUAGES.filter(([code]) => code !== 'other').map(([code, name]) => h('option', { value: code }, name)),
  );
  const sort = h(
    'select',
    { name: 'sort' },
    h('option', { value: 'viewers' }, 'Most viewers'),
    h('option', { value: 'recent' }, 'Recently started'),
  );
  category.value = params.get('category') ?? '';
  language.value = params.get('language') ?? '';
  sort.value = params.get('sort') === 'recent' ? 'recent' : 'viewers';
  let tag = params.get('tag') ?? '';
  const tagChip = h('div', { class: 'active-filters' });

  const list = h('ul', { class: 'stream-grid', 'aria-live': 'polite', 'aria-busy': 'true', 'aria-label': 'Live streams' });
  const status = h('p', { class: 'status', role: 'status' }, 'Loading…');
  const filters = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Search live streams',
      onsubmit: (ev: Event) => (ev.preventDefault(), void refresh(true)),
    },
    h(
      'div',
      { class: 'row' },
      field('Search', q),
      field('Category filter', category),
      field('Language filter', language),
      field('Sort by', sort),
    ),
    tagChip,
  );
  root.append(h('h1', {}, 'Live now'), filters, status, list);

  let timer: ReturnType<typeof setTimeout> | undefined;
  let debounce: ReturnType<typeof setTimeout> | undefined;
  let active = true;
  let request = 0;

  const query = (): StreamQuery => ({
    live: true,
    sort: sort.value as 'viewers' | 'recent',
    ...(q.value.trim() ? { q: q.value.trim() } : {}),
    ...(category.value ? { category: category.value } : {}),
    ...(language.value ? { language: language.value } : {}),
    ...(tag ? { tag } : {}),
    limit: 48,
  });

  const syncUrl = () => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(query()))
      if (k !== 'live' && k !== 'limit' && !(k === 'sort' && v === 'viewers')) p.set(k, String(v));
    const search = p.toString();
    history.replaceState(null, '', search ? `/?${search}` : '/');
    fill(
      tagChip,
      tag
        ? h('button', { type: 'button', class: 'chip', onclick: () => setTag(''), 'aria-label': `Remove tag filter ${tag}` }, `#${tag} ✕`)
        : null,
    );
  };

  const setTag = (next: string) => {
    tag = next;
    void refresh(true);
  };

  const refresh = async (userChange = false) => {
    clearTimeout(timer);
    const mine = ++request;
    if (userChange) syncUrl();
    try {
      const { items } = await client().listStreams(query());
      if (!active || mine !== request) return;
      fill(list, ...items.map((s) => streamCard(s, setTag)));
      const filtered = q.value.trim() || category.value || language.value || tag;
      status.textContent = items.length
        ? `${items.length} live ${items.length === 1 ? 'stream' : 'streams'}`
        : filtered
          ? 'No live stream matches these filters.'
          : 'Nobody is live right now. Check back soon, or go live yourself.';
    } catch (err) {
      if (active && mine === request) status.textContent = `Could not load the directory: ${messageOf(err)}`;
    }
    list.setAttribute('aria-busy', 'false');
    if (active && mine === request) timer = setTimeout(() => void refresh(), REFRESH_MS);
  };

  q.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void refresh(true), SEARCH_DEBOUNCE_MS);
  });
  for (const select of [category, language, sort]) select.addEventListener('change', () => void refresh(true));
  syncUrl();
  void refresh();

  return () => {
    active = false;
    clearTimeout(timer);
    clearTimeout(debounce);
  };
};

function streamCard(stream: Stream, setTag: (tag: string) => void): HTMLElement {
  const viewers = `${stream.viewerCount} ${stream.viewerCount === 1 ? 'viewer' : 'viewers'}`;
  const thumb = h('img', {
    class: 'thumb',
    alt: '',
    loading: 'lazy',
    width: 320,
    height: 180,
    src: `/api/streams/${encodeURIComponent(stream.id)}/thumbnail.jpg?t=${Math.floor(Date.now() / 10_000)}`,
  });
  thumb.addEventListener('error', () => thumb.classList.add('missing'), { once: true });
  return h(
    'li',
    { class: 'stream-card' },
    h(
      'a',
      { href: `/watch/${encodeURIComponent(stream.id)}`, 'data-link': true },
      h(
        'span',
        { class: 'thumb-frame' },
        thumb,
        h('span', { class: 'badge live' }, 'Live'),
        h('span', { class: 'viewers-badge' }, viewers),
      ),
      h('strong', { class: 'title' }, stream.title || 'Untitled stream'),
      stream.ownerName ? h('span', { class: 'owner' }, stream.ownerName) : null,
      h('span', { class: 'meta' }, [stream.category, stream.language && languageName(stream.language)].filter(Boolean).join(' · ')),
    ),
    stream.tags?.length
      ? h(
          'div',
          { class: 'tags' },
          ...stream.tags.map((t) =>
            h('button', { type: 'button', class: 'chip', onclick: () => setTag(t), 'aria-label': `Filter by tag ${t}` }, `#${t}`),
          ),
        )
      : null,
  );
}
