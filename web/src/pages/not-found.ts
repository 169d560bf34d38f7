// Any path the app does not know.
import { h } from '../dom.js';
import type { Page } from '../router.js';

export const notFoundPage: Page = (root) => {
  document.title = 'Not found · OnAir';
  root.append(h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '/', 'data-link': true }, 'See who is live')));
};
