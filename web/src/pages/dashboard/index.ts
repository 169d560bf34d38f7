// `/dashboard`: the streamer's page. Signed out: sign up / sign in. Signed in: create a stream, then
// go live with the camera or a screen share (or copy the WHIP URL and stream key into OBS), watch the
// live stats and tip alerts, edit the stream, and set up chat and moderators. Re-renders itself when
// the account or the stream changes; owns the stream's real-time channel while shown; leaving the
// page ends a browser broadcast.
import { channel } from '@onair/client-sdk';
import { h } from '../../dom.js';
import type { Page } from '../../router.js';
import { clearAuth, forgetOwnedStream, loadAuth, loadOwnedStream, onAuthChange } from '../../session.js';
import { tipAlerts } from '../../components/tip-alerts.js';
import { accountForm } from './account.js';
import { broadcastPanel } from './broadcast.js';
import { chatSettings } from './chat-settings.js';
import { newStreamForm } from './new-stream.js';
import { statsCard } from './stats.js';
import { streamSettings } from './stream-settings.js';

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
    const stream = loadOwnedStream(auth.user.id);
    if (!stream) {
      root.replaceChildren(heading, newStreamForm(render, clearAuth));
      return;
    }
    const panel = broadcastPanel(stream, () => {
      forgetOwnedStream();
      render();
    });
    const ch = channel({ baseUrl: location.origin, streamId: stream.id, token: auth.token });
    const alerts = tipAlerts();
    panel.previewFrame.append(alerts.element);
    const offTip = ch.on('tip', (tip) => alerts.show(tip));
    const stats = statsCard(stream.id, ch, panel.publisher);
    unmountSection = () => {
      offTip();
      alerts.dispose();
      stats.dispose();
      ch.close();
      panel.unmount();
    };
    root.replaceChildren(
      heading,
      h('div', { class: 'dashboard-layout' }, h('div', {}, panel.element), h('div', {}, stats.element, streamSettings(stream, render), chatSettings(stream.id, stream.ownerId))),
    );
  };
  const offAuth = onAuthChange(render);
  render();

  return () => {
    offAuth();
    unmountSection?.();
  };
};
