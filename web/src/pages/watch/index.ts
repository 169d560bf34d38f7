// `/watch/:id`: the player (WebRTC with HLS/DASH fallback, latency indicator, quality menu), the
// reaction buttons and bursts, the Tip button with animated tip alerts over the video, and the chat
// panel with moderation for the owner and moderators. One real-time channel per page feeds chat,
// reactions, tips, the viewer count and the live status; the page owns it and closes it on leave.
// The stream is looked up first: an unknown id gets the not-found page and opens no channel (no
// reconnect loop against a stream that does not exist); an offline one says when it was last live.
import { channel, isOnAirError, type Stream } from '@onair/client-sdk';
import { h, messageOf } from '../../dom.js';
import { languageName } from '../../components/languages.js';
import { formatAgo } from '../../components/durations.js';
import { showNotFound } from '../not-found.js';
import type { Page } from '../../router.js';
import { client, loadAuth, onAuthChange } from '../../session.js';
import { tipAlerts } from '../../components/tip-alerts.js';
import { chatPanel } from './chat-panel.js';
import { playerView } from './player-view.js';
import { reactionButtons, reactionLayer } from './reactions.js';
import { tipButton } from './tip-dialog.js';
import { recordingsSection } from '../recordings.js';

export const watchPage: Page = (root, ctx) => {
  const id = ctx.params.id ?? '';
  document.title = 'Watch · OnAir';
  let active = true;
  let unmount: (() => void) | undefined;
  const loading = h('p', { class: 'hint', role: 'status' }, 'Loading the stream…');
  root.replaceChildren(loading);
  client()
    .getStream(id)
    .then((stream) => {
      if (active) unmount = mountWatch(root, id, stream);
    })
    .catch((err: unknown) => {
      if (!active) return;
      if (isOnAirError(err) && err.status === 404)
        return showNotFound(
          root,
          'Stream not found',
          'There is no stream at this address. It may have been deleted, or the link is mistyped.',
        );
      root.replaceChildren(
        h('p', { class: 'error', role: 'alert' }, `The stream could not be loaded: ${messageOf(err)}`),
        h('button', { type: 'button', onclick: () => ctx.navigate(location.pathname) }, 'Try again'),
      );
    });
  return () => {
    active = false;
    unmount?.();
  };
};

function mountWatch(root: HTMLElement, id: string, initial: Stream): () => void {
  const title = h('h1', {}, 'Stream');
  const meta = h('span', {});
  const viewers = h('span', { class: 'viewer-count' });
  let stream: Stream | undefined;

  const describe = (s: Stream) => {
    const first = !stream;
    stream = s;
    title.textContent = s.title || 'Untitled stream';
    document.title = `${title.textContent} · OnAir`;
    meta.textContent = [s.ownerName, s.category, s.language && languageName(s.language)].filter(Boolean).join(' · ');
    if (s.live) {
      if (!viewers.textContent || viewers.dataset.offline) viewers.textContent = `${s.viewerCount} watching`;
      delete viewers.dataset.offline;
    } else {
      viewers.dataset.offline = 'true';
      viewers.textContent = s.endedAt ? `Offline · last live ${formatAgo(s.endedAt)}` : 'Offline';
    }
    if (first) void refreshRole(); // the owner is known now; moderators are checked once per sign-in
  };

  const ch = channel({ baseUrl: location.origin, streamId: id, token: loadAuth()?.token });
  const offlineText = () => {
    const who = stream?.ownerName ?? 'The streamer';
    return stream?.endedAt ? `${who} is offline. Last live ${formatAgo(stream.endedAt)}.` : `${who} is offline.`;
  };
  const player = playerView(id, describe, offlineText);
  const layer = reactionLayer(ch);
  const alerts = tipAlerts();
  player.frame.append(layer.element, alerts.element);
  const chat = chatPanel(id, ch);
  const recordings = recordingsSection(id);
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
    ch.on('viewers', (n) => {
      if (!viewers.dataset.offline) viewers.textContent = `${n} watching`;
    }),
    ch.on('tip', (tip) => alerts.show(tip)),
    ch.on('status', (s) => {
      if (s.live) player.wentLive();
      else player.wentOffline();
      recordings.refresh();
    }),
    onAuthChange(() => {
      ch.setToken(loadAuth()?.token);
      void refreshRole();
    }),
  ];

  describe(initial);
  root.replaceChildren(
    h('div', { class: 'watch-head' }, title, h('p', { class: 'meta' }, meta, ' · ', viewers)),
    h(
      'div',
      { class: 'watch-layout' },
      h(
        'section',
        { class: 'watch-main', 'aria-label': 'Player' },
        player.frame,
        player.bar,
        h('div', { class: 'engage' }, reactionButtons(ch), recordings.clipControl, tipButton(id, isOwn)),
      ),
      chat.element,
    ),
    recordings.element,
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
}
