// Entry point: mounts the page for the current path into <main id="app"> and keeps the account
// part of the top bar (Sign in, which opens a dialog over the current page, or the user's name and
// Sign out) in step with the session.
import './styles.css';
import { dashboardPage } from './pages/dashboard/index.js';
import { directoryPage } from './pages/directory.js';
import { notFoundPage } from './pages/not-found.js';
import { watchPage } from './pages/watch/index.js';
import { broadcastPage, clipPage } from './pages/recordings.js';
import { Router } from './router.js';
import { h, fill } from './dom.js';
import { clearAuth, client, loadAuth, onAuthChange } from './session.js';
import { openSignInDialog } from './components/sign-in-dialog.js';

const root = document.getElementById('app')!;
new Router(root, notFoundPage)
  .add('/', directoryPage)
  .add('/watch/:id', watchPage)
  .add('/dashboard', dashboardPage)
  .add('/broadcast/:id', broadcastPage)
  .add('/clip/:id', clipPage)
  .start();

const accountNav = document.getElementById('account-nav')!;
const renderAccountNav = () => {
  const auth = loadAuth();
  // Signing in from any page but the dashboard keeps you on that page (the stream you were watching).
  if (!auth)
    return fill(
      accountNav,
      h(
        'button',
        {
          type: 'button',
          class: 'link nav-sign-in',
          onclick: () => openSignInDialog('Sign in or create an account.'),
          'aria-haspopup': 'dialog',
        },
        'Sign in',
      ),
    );
  fill(
    accountNav,
    h('span', { class: 'who' }, auth.user.username),
    ' ',
    h('button', { type: 'button', class: 'link', onclick: () => clearAuth() }, 'Sign out'),
    ' ',
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        title: 'Ends your sessions on every device and browser',
        // The server ends every token; this browser forgets its own even if the call fails.
        onclick: () =>
          void client()
            .logoutAll()
            .catch(() => {})
            .finally(clearAuth),
      },
      'Sign out everywhere',
    ),
  );
};
onAuthChange(renderAccountNav);
renderAccountNav();
