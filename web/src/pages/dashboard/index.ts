// `/dashboard`: the streamer's page. Signed out: sign up / sign in. Signed in: the account's channel,
// loaded from the server (GET /api/me/streams) on any browser: pick one of your streams or create
// one, then go live with the camera or a screen share (or copy the WHIP URL and a stream key into
// OBS), run the show from the live chat with moderation inline, the activity feed (tips, bans,
// moderators), uptime and stats, and edit the stream and its chat settings (loaded from the server).
// Stream keys live in page memory only (stream-key-memory.ts). Re-renders itself when the account
// changes; owns the stream's real-time channel while shown; leaving the page ends a browser broadcast.
import { channel, isOnAirError, type ChannelStream } from '@onair/client-sdk';
import { h, messageOf } from '../../dom.js';
import type { Page } from '../../router.js';
import { clearAuth, client, loadAuth, onAuthChange } from '../../session.js';
import { tipAlerts } from '../../components/tip-alerts.js';
import { formatAgo, formatUptime } from '../../components/durations.js';
import { chatPanel } from '../watch/chat-panel.js';
import { accountForm } from './account.js';
import { activityFeed } from './activity.js';
import { broadcastPanel } from './broadcast.js';
import { recordingsSection } from '../recordings.js';
import { chatSettings } from './chat-settings.js';
import { newStreamForm } from './new-stream.js';
import { statsCard } from './stats.js';
import { knownStreamKey, rememberStreamKey } from './stream-key-memory.js';
import { streamSettings } from './stream-settings.js';

export const dashboardPage: Page = (root) => {
  document.title = 'Dashboard · OnAir';
  let unmountSection: (() => void) | undefined;
  let selectedId: string | undefined;
  let render = 0;

  const clear = () => {
    unmountSection?.();
    unmountSection = undefined;
  };

  const show = async (want?: string) => {
    const mine = ++render;
    clear();
    const heading = h('h1', {}, 'Dashboard');
    const auth = loadAuth();
    if (!auth) {
      root.replaceChildren(
        heading,
        accountForm(() => void show()),
      );
      return;
    }
    root.replaceChildren(heading, h('p', { class: 'hint', role: 'status' }, 'Loading your streams…'));
    let streams: ChannelStream[];
    try {
      streams = (await client().myStreams()).items;
    } catch (err) {
      if (mine !== render) return;
      if (isOnAirError(err) && err.status === 401) return clearAuth(); // the token expired: sign in again
      root.replaceChildren(
        heading,
        h('p', { class: 'error', role: 'alert' }, `Your streams could not be loaded: ${messageOf(err)}`),
        h('button', { type: 'button', onclick: () => void show(want) }, 'Try again'),
      );
      return;
    }
    if (mine !== render) return;
    const creating = want === 'new' || streams.length === 0;
    if (creating) {
      root.replaceChildren(
        heading,
        newStreamForm((id) => void show(id), clearAuth, streams.length ? () => void show(selectedId) : undefined),
      );
      return;
    }
    const stream = streams.find((s) => s.id === want) ?? streams.find((s) => s.id === selectedId) ?? streams[0]!;
    selectedId = stream.id;
    mountStream(heading, stream, streams, auth.token);
  };

  /** The channel picker: every stream of the account, and "New stream". */
  const picker = (current: ChannelStream, streams: ChannelStream[]) => {
    const select = h(
      'select',
      { id: 'f-your-stream', name: 'your-stream' },
      ...streams.map((s) =>
        h('option', { value: s.id, selected: s.id === current.id }, `${s.title || 'Untitled stream'}${s.live ? ' (live)' : ''}`),
      ),
    );
    select.addEventListener('change', () => void show(select.value));
    return h(
      'nav',
      { class: 'channel-picker', 'aria-label': 'Your streams' },
      h('label', { for: select.id }, 'Your streams'),
      select,
      h('button', { type: 'button', class: 'secondary', onclick: () => void show('new') }, 'New stream'),
    );
  };

  const mountStream = (heading: HTMLElement, stream: ChannelStream, streams: ChannelStream[], token: string) => {
    const renewKey = async () => {
      const { streamKey } = await client().rotateStreamKey(stream.id);
      rememberStreamKey(stream.id, streamKey);
      return streamKey;
    };
    const panel = broadcastPanel(stream, { known: () => knownStreamKey(stream.id), renew: renewKey });
    const ch = channel({ baseUrl: location.origin, streamId: stream.id, token });
    const alerts = tipAlerts();
    panel.previewFrame.append(alerts.element);
    const stats = statsCard(stream.id, ch, panel.publisher);
    const activity = activityFeed(stream.id, ch);
    const chat = chatPanel(stream.id, ch, { heading: 'Live chat' });
    chat.setRole(true);
    const chatCard = chatSettings(stream.id, stream.ownerId, () => activity.reload());
    const recordings = recordingsSection(stream.id, { pollMs: 30_000 });

    // Uptime while live; otherwise when it was last live.
    const uptime = h('p', { class: 'uptime meta', 'data-live': String(stream.live) });
    let live = stream.live;
    let startedAt = stream.startedAt;
    let endedAt = stream.endedAt ?? null;
    const tick = () => {
      uptime.dataset.live = String(live);
      uptime.textContent =
        live && startedAt
          ? `Live for ${formatUptime(Date.now() - Date.parse(startedAt))}`
          : endedAt
            ? `Offline · last live ${formatAgo(endedAt)}`
            : 'Offline · never live yet';
    };
    tick();
    const clock = setInterval(tick, 1000);
    const refreshStream = async () => {
      try {
        const s = await client().getStream(stream.id);
        live = s.live;
        startedAt = s.startedAt;
        endedAt = s.endedAt ?? null;
        tick();
      } catch {
        // keep the last known state; the next status event retries
      }
    };

    const offs = [
      ch.on('tip', (tip) => alerts.show(tip)),
      ch.on('status', () => {
        void refreshStream();
        recordings.refresh();
      }),
      ch.on('moderation', () => chatCard.reload()),
    ];
    unmountSection = () => {
      offs.forEach((off) => off());
      clearInterval(clock);
      alerts.dispose();
      stats.dispose();
      activity.dispose();
      chat.dispose();
      recordings.dispose();
      ch.close();
      panel.unmount();
    };
    const details = streamSettings(stream, {
      saved: (s) => {
        panel.retitle(s.title);
        const option = root.querySelector<HTMLOptionElement>(`#f-your-stream option[value="${CSS.escape(s.id)}"]`);
        if (option) option.textContent = `${s.title || 'Untitled stream'}${s.live ? ' (live)' : ''}`;
        Object.assign(stream, { title: s.title, tags: s.tags, category: s.category, language: s.language });
      },
      rotated: (key) => {
        rememberStreamKey(stream.id, key);
        panel.keyRotated();
      },
    });
    root.replaceChildren(
      heading,
      picker(stream, streams),
      uptime,
      h(
        'div',
        { class: 'dashboard-layout' },
        h('div', { class: 'dashboard-main' }, panel.element, chat.element),
        h('div', { class: 'dashboard-side' }, stats.element, activity.element, recordings.element, details, chatCard.element),
      ),
    );
  };

  const offAuth = onAuthChange(() => void show());
  void show();

  return () => {
    render++;
    offAuth();
    clear();
  };
};
