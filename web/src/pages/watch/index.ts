// `/watch/:id`: the player (WebRTC with HLS/DASH fallback, latency indicator, quality menu), the
// reaction buttons and bursts, the Tip button with animated tip alerts over the video, and the chat
// panel with moderation for the owner and moderators. One real-time channel per page feeds chat,
// reactions, tips, the viewer count and the live status; the page owns it and closes it on leave.
import { channel, type Stream } from '@onair/client-sdk';
import { h } from '../../dom.js';
import type { Page } from '../../router.js';
import { client, loadAuth, onAuthChange } from '../../session.js';
import { tipAlerts } from '../../components/tip-alerts.js';
import { chatPanel } from './chat-panel.js';
import { playerView } from './player-view.js';
import { reactionButtons, reactionLayer } from './reactions.js';
import { tipButton } from './tip-dialog.js';

export const watchPage: Page = (root, { params }) => {
  const id = params.id ?? '';
  document.title = 'Watch · OnAir';
  const title = h('h1', {}, 'Stream');
  const meta = h('span', {});
  const viewers = h('span', { class: 'viewer-count' });
  let stream: Stream | undefined;

  const describe = (s: Stream) => {
    const first = !stream;
    stream = s;
    title.textContent = s.title || 'Untitled stream';
    document.title = `${title.textContent} · OnAir`;
    meta.textContent = [s.ownerName, s.category, s.language].filter(Boolean).join(' · ');
    if (viewers.textContent === '') viewers.textContent = s.live ? `${s.viewerCount} watching` : '';
    if (first) void refreshRole(); // the owner is known now; moderators are checked once per sign-in
  };

  const ch = channel({ baseUrl: location.origin, streamId: id, token: loadAuth()?.token });
  const player = playerView(id, describe);
  const layer = reactionLayer(ch);
  const alerts = tipAlerts();
  player.frame.append(layer.element, alerts.element);
  const chat = chatPanel(id, ch);
  const isOwn = () => !!stream?.ownerId && String(stream.ownerId) === String(loadAuth()?.user.id);

  let roleCheck = 0;
  const refreshRole = async () => {
    const mine = ++roleCheck;
    const user = loadAuth()?.user;
    if (!user) return chat.setRole(false);
    if (isOwn()) return chat.setRole(true);
    try {
      const { items } = await client().moderators(id);
      if (mine === roleCheck) chat.setRole(items.some((m) => String(m.userId) === String(user.id)));
    } catch {
      if (mine === roleCheck) chat.setRole(false);
    }
  };

  const offs = [
    ch.on('viewers', (n) => (viewers.textContent = `${n} watching`)),
    ch.on('tip', (tip) => alerts.show(tip)),
    ch.on('status', (s) => (s.live ? player.wentLive() : player.wentOffline())),
    onAuthChange(() => {
      ch.setToken(loadAuth()?.token);
      void refreshRole();
    }),
  ];

  root.append(
    h('div', { class: 'watch-head' }, title, h('p', { class: 'meta' }, meta, ' ', viewers)),
    h(
      'div',
      { class: 'watch-layout' },
      h('section', { class: 'watch-main', 'aria-label': 'Player' }, player.frame, player.bar, h('div', { class: 'engage' }, reactionButtons(ch), tipButton(id, isOwn))),
      chat.element,
    ),
  );
  player.start();

  return () => {
    offs.forEach((off) => off());
    player.dispose();
    layer.dispose();
    alerts.dispose();
    chat.dispose();
    ch.close();
  };
};
