// Entry point: mounts the page for the current path into <main id="app"> and keeps the account
// part of the top bar (Sign in, or the user's name and Sign out) in step with the session.
import './styles.css';
import { dashboardPage } from './pages/dashboard/index.js';
import { directoryPage } from './pages/directory.js';
import { notFoundPage } from './pages/not-found.js';
import { watchPage } from './pages/watch/index.js';
import { Router } from './router.js';
import { h, fill } from './dom.js';
import { clearAuth, loadAuth, onAuthChange } from './session.js';

const root = document.getElementById('app')!;
new Router(root, notFoundPage)
  .add('/', directoryPage)
  .add('/watch/:id', watchPage)
  .add('/dashboard', dashboardPage)
  .start();

const accountNav = document.getElementById('account-nav')!;
const renderAccountNav = () => {
  const auth = loadAuth();
  if (!auth) return fill(accountNav, h('a', { href: '/dashboard', 'data-link': true }, 'Sign in'));
  fill(accountNav, h('span', { class: 'who' }, auth.user.username), ' ', h('button', { type: 'button', class: 'link', onclick: () => clearAuth() }, 'Sign out'));
};
onAuthChange(renderAccountNav);
renderAccountNav();
