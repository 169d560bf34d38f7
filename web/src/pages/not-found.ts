// Any path the app does not know, and a watch page for a stream that does not exist: says so, and
// offers the way back. Opens no connection.
import { h } from '../dom.js';
import type { Page } from '../router.js';

export function showNotFound(root: HTMLElement, heading = 'Page not found', detail = 'There is nothing at this address.'): void {
  document.title = `${heading} · OnAir`;
  root.replaceChildren(
    h(
      'section',
      { class: 'not-found card', 'aria-labelledby': 'not-found-heading' },
      h('h1', { id: 'not-found-heading' }, heading),
      h('p', {}, detail),
      h(
        'p',
        {},
        h('a', { href: '/', 'data-link': true }, 'See who is live'),
        ' · ',
        h('a', { href: '/dashboard', 'data-link': true }, 'Go to your dashboard'),
      ),
    ),
  );
}

export const notFoundPage: Page = (root) => showNotFound(root);
