// Chat settings and moderators of the streamer's stream: slow mode and blocked terms (loaded from
// GET chat-settings, saved with PATCH), the moderator list with Remove, adding a moderator by
// username or from the recent chatters, and the bans and timeouts in force with Unban.
// `changed` is told after each change, so the activity feed can follow.
import type { ChatBan, Moderator } from '@onair/client-sdk';
import { field, fill, h, messageOf } from '../../dom.js';
import { client } from '../../session.js';
import { formatRemaining } from '../../components/durations.js';

const SLOW_MODES: Array<[number, string]> = [
  [0, 'Off'],
  [5, '5 seconds'],
  [10, '10 seconds'],
  [30, '30 seconds'],
  [60, '1 minute'],
  [120, '2 minutes'],
  [300, '5 minutes'],
];

export interface ChatSettingsCard {
  element: HTMLElement;
  /** Reloads moderators, bans and recent chatters (after a ban from the chat, say). */
  reload(): void;
}

export function chatSettings(streamId: string, ownerId: string, changed: () => void = () => {}): ChatSettingsCard {
  const slow = h('select', { name: 'slow-mode' }, ...SLOW_MODES.map(([v, label]) => h('option', { value: String(v) }, label)));
  const terms = h('input', { name: 'blocked-terms', placeholder: 'e.g. spoiler, giveaway' });
  const save = h('button', { type: 'submit', disabled: true }, 'Save chat settings');
  const settingsNote = h('p', { class: 'hint', role: 'status' }, 'Loading the chat settings…');
  const error = h('p', { class: 'error', role: 'alert' });
  const modList = h('ul', { class: 'people', 'aria-label': 'Moderators' });
  const banList = h('ul', { class: 'people', 'aria-label': 'Banned and timed out' });
  const chatters = h('ul', { class: 'people', 'aria-label': 'Recent chatters' });
  const username = h('input', { name: 'moderator-username', autocomplete: 'off', maxLength: 32 });

  const run = async (fn: () => Promise<unknown>) => {
    error.textContent = '';
    try {
      await fn();
    } catch (err) {
      error.textContent = messageOf(err);
    }
  };

  const showSettings = (s: { slowModeSeconds: number; blockedTerms: string[] }) => {
    if (!SLOW_MODES.some(([v]) => v === s.slowModeSeconds))
      slow.append(h('option', { value: String(s.slowModeSeconds) }, `${s.slowModeSeconds} seconds`));
    slow.value = String(s.slowModeSeconds);
    terms.value = s.blockedTerms.join(', ');
  };

  const loadSettings = () =>
    run(async () => {
      try {
        const settings = await client().chatSettings(streamId);
        if (!('blockedTerms' in settings)) throw new Error('only the owner and moderators may change the chat settings');
        showSettings(settings);
        settingsNote.textContent = '';
        save.disabled = false; // never saved before it showed what the server has: saving would wipe it
      } catch (err) {
        settingsNote.textContent = 'The chat settings could not be loaded, so they cannot be saved now.';
        throw err;
      }
    });

  const load = () =>
    run(async () => {
      const [{ items: mods }, { items: bans }, history] = await Promise.all([
        client().moderators(streamId),
        client().bans(streamId),
        client().chatHistory(streamId, { limit: 100 }),
      ]);
      const modIds = new Set(mods.map((m) => String(m.userId)));
      fill(modList, ...(mods.length ? mods.map(modItem) : [h('li', { class: 'hint' }, 'No moderators yet.')]));
      fill(banList, ...(bans.length ? bans.map(banItem) : [h('li', { class: 'hint' }, 'Nobody is banned or timed out.')]));
      const recent = new Map<string, string>();
      for (const m of history.items.reverse())
        if (!modIds.has(String(m.userId)) && String(m.userId) !== String(ownerId)) recent.set(String(m.userId), m.username);
      fill(
        chatters,
        ...(recent.size
          ? [...recent].slice(0, 10).map(([id, name]) => chatterItem(id, name))
          : [h('li', { class: 'hint' }, 'Nobody has chatted yet.')]),
      );
    });
  const afterChange = async () => {
    await load();
    changed();
  };

  const modItem = (m: Moderator) =>
    h(
      'li',
      {},
      h('span', {}, m.username),
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          'aria-label': `Remove moderator ${m.username}`,
          onclick: () => run(async () => (await client().removeModerator(streamId, m.userId), afterChange())),
        },
        'Remove',
      ),
    );
  const banItem = (b: ChatBan) =>
    h(
      'li',
      {},
      h(
        'span',
        {},
        h('strong', {}, b.username),
        ' ',
        h('span', { class: 'hint' }, b.until ? `timed out, ${formatRemaining(Date.parse(b.until) - Date.now())} left` : 'banned'),
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          'aria-label': `Unban ${b.username}`,
          onclick: () => run(async () => (await client().unban(streamId, b.userId), afterChange())),
        },
        'Unban',
      ),
    );
  const chatterItem = (id: string, name: string) =>
    h(
      'li',
      {},
      h('span', {}, name),
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          'aria-label': `Make ${name} a moderator`,
          onclick: () => run(async () => (await client().addModerator(streamId, id), afterChange())),
        },
        'Make moderator',
      ),
    );

  const settingsForm = h(
    'form',
    {
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        void run(async () => {
          const s = await client().updateChatSettings(streamId, {
            slowModeSeconds: Number(slow.value),
            blockedTerms: terms.value
              .split(',')
              .map((t) => t.trim())
              .filter(Boolean),
          });
          showSettings(s);
          settingsNote.textContent = `Saved: slow mode ${s.slowModeSeconds ? `${s.slowModeSeconds} s` : 'off'}, ${s.blockedTerms.length} blocked terms.`;
        });
      },
    },
    h(
      'div',
      { class: 'row top' },
      field('Slow mode', slow),
      field('Blocked terms', terms, 'Separated by commas; the profanity filter always applies.'),
    ),
    h('div', { class: 'actions' }, save),
    settingsNote,
  );
  const addForm = h(
    'form',
    {
      class: 'copy-row',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const name = username.value.trim();
        if (!name) return;
        void run(async () => {
          await client().addModerator(streamId, { username: name });
          username.value = '';
          await afterChange();
        });
      },
    },
    field('Add a moderator by username', username),
    h('button', { type: 'submit', class: 'secondary' }, 'Add'),
  );
  void loadSettings();
  void load();
  const element = h(
    'section',
    { class: 'card', 'aria-labelledby': 'chat-settings-heading' },
    h('h3', { id: 'chat-settings-heading' }, 'Chat and moderators'),
    settingsForm,
    h('h4', {}, 'Moderators'),
    modList,
    addForm,
    h('h4', {}, 'Banned and timed out'),
    banList,
    h('h4', {}, 'Recent chatters'),
    chatters,
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => void load() }, 'Refresh lists')),
    error,
  );
  return { element, reload: () => void load() };
}
