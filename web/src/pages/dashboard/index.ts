// `/dashboard`: the streamer's page. Signed out: sign up / sign in. Signed in: create a stream, then
// go live with the camera (or copy the WHIP URL and stream key into OBS). Re-renders itself when the
// account or the stream changes; leaving the page ends a browser broadcast.
import { h } from '../../dom.js';
import type { Page } from '../../router.js';
import { clearAuth, forgetOwnedStream, loadAuth, loadOwnedStream } from '../../session.js';
import { accountForm, accountBar } from './account.js';
import { broadcastPanel } from './broadcast.js';
import { newStreamForm } from './new-stream.js';

export const dashboardPage: Page = (root) => {
  document.title = 'Dashboard · OnAir';
  let unmountSection: (() => void) | undefined;

  const render = () => {
    unmountSection?.();
    unmountSection = undefined;
    const heading = h('h1', {}, 'Dashboard');
    const auth = loadAuth();
    if (!auth) {
      root.replaceChildren(heading, accountForm(render));
      return;
    }
    const signOut = () => {
      clearAuth();
      render();
    };
    const stream = loadOwnedStream(auth.user.id);
    if (!stream) {
      root.replaceChildren(heading, accountBar(auth.user, signOut), newStreamForm(render, signOut));
      return;
    }
    const panel = broadcastPanel(stream, () => {
      forgetOwnedStream();
      render();
    });
    unmountSection = panel.unmount;
    root.replaceChildren(heading, accountBar(auth.user, signOut), panel.element);
  };
  render();

  return () => unmountSection?.();
};
