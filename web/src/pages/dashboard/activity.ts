// The dashboard's activity feed: tips, bans, timeouts and moderators granted on this stream, newest
// first (GET /api/streams/{id}/activity), reloaded when the channel reports a tip or a moderation
// event and when the dashboard changes something. Reads the Channel it is given; owns its listeners.
import type { ActivityEvent, Channel } from '@onair/client-sdk';
import { fill, h } from '../../dom.js';
import { formatMoney } from '../../components/money.js';
import { formatAgo, formatRemaining } from '../../components/durations.js';
import { client } from '../../session.js';

export function activityFeed(streamId: string, ch: Channel): { element: HTMLElement; reload(): void; dispose(): void } {
  const list = h('ol', { class: 'activity', 'aria-label': 'Activity' });
  const error = h('p', { class: 'error', role: 'alert' });
  let pending: ReturnType<typeof setTimeout> | undefined;

  const describe = (e: ActivityEvent): (Node | string)[] => {
    if (e.kind === 'tip')
      return [h('strong', {}, e.username), ` tipped ${formatMoney(e.amount, e.currency)}`, e.message ? ` — ${e.message}` : ''];
    if (e.kind === 'moderator_added') return [h('strong', {}, e.username), ' was made a moderator'];
    const by = e.by ? ` by ${e.by}` : '';
    if (e.kind === 'ban') return [h('strong', {}, e.username), ` was banned${by}`];
    const left = e.until ? Date.parse(e.until) - Date.now() : 0;
    return [h('strong', {}, e.username), ` was timed out${by}`, left > 0 ? ` (${formatRemaining(left)} left)` : ' (over)'];
  };

  const load = async () => {
    try {
      const { items } = await client().activity(streamId, { limit: 30 });
      error.textContent = '';
      fill(
        list,
        ...(items.length
          ? items.map((e) =>
              h('li', { class: `activity-${e.kind}` }, ...describe(e), ' ', h('time', { class: 'hint', dateTime: e.at }, formatAgo(e.at))),
            )
          : [h('li', { class: 'hint' }, 'No tips or moderation yet.')]),
      );
    } catch (err) {
      error.textContent = `The activity feed could not be loaded: ${(err as Error).message}`;
    }
  };
  // Events come in bursts (a ban removes many messages): one reload per burst.
  const reloadSoon = () => {
    clearTimeout(pending);
    pending = setTimeout(() => void load(), 300);
  };
  const offs = [ch.on('tip', reloadSoon), ch.on('moderation', reloadSoon)];
  void load();
  const element = h(
    'section',
    { class: 'card', 'aria-labelledby': 'activity-heading' },
    h('h3', { id: 'activity-heading' }, 'Activity'),
    list,
    error,
  );
  return {
    element,
    reload: reloadSoon,
    dispose: () => {
      clearTimeout(pending);
      offs.forEach((off) => off());
    },
  };
}
