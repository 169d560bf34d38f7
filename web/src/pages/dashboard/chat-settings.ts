// Chat settings and moderators of the streamer's stream: slow mode and blocked terms (PATCH
// chat-settings), the moderator list with Remove, and adding a moderator from the recent chatters
// (GET chat history) or by user id.
import type { Moderator } from '@onair/client-sdk';
import { field, fill, h, messageOf } from '../../dom.js';
import { client } from '../../session.js';

const SLOW_MODES: Array<[number, string]> = [[0, 'Off'], [5, '5 seconds'], [10, '10 seconds'], [30, '30 seconds'], [60, '1 minute']];

export function chatSettings(streamId: string, ownerId: string): HTMLElement {
  const slow = h('select', { name: 'slow-mode' }, ...SLOW_MODES.map(([v, label]) => h('option', { value: String(v) }, label)));
  const terms = h('input', { name: 'blocked-terms', placeholder: 'e.g. spoiler, giveaway' });
  const settingsNote = h('p', { class: 'hint', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert' });
  const modList = h('ul', { class: 'people', 'aria-label': 'Moderators' });
  const chatters = h('ul', { class: 'people', 'aria-label': 'Recent chatters' });
  const userId = h('input', { name: 'moderator-id', placeholder: 'User id' });

  const run = async (fn: () => Promise<unknown>) => {
    error.textContent = '';
    try {
      await fn();
    } catch (err) {
      error.textContent = messageOf(err);
    }
  };

  const load = () =>
    run(async () => {
      const [{ items: mods }, history] = await Promise.all([client().moderators(streamId), client().chatHistory(streamId, { limit: 100 })]);
      const modIds = new Set(mods.map((m) => String(m.userId)));
      fill(modList, ...(mods.length ? mods.map(modItem) : [h('li', { class: 'hint' }, 'No moderators yet.')]));
      const recent = new Map<string, string>();
      for (const m of history.items.reverse()) if (!modIds.has(String(m.userId)) && String(m.userId) !== String(ownerId)) recent.set(String(m.userId), m.username);
      fill(chatters, ...(recent.size ? [...recent].slice(0, 10).map(([id, name]) => chatterItem(id, name)) : [h('li', { class: 'hint' }, 'Nobody has chatted yet.')]));
    });

  const modItem = (m: Moderator) =>
    h('li', {}, h('span', {}, m.username), h('button', { type: 'button', class: 'link', 'aria-label': `Remove moderator ${m.username}`, onclick: () => run(async () => (await client().removeModerator(streamId, m.userId), load())) }, 'Remove'));
  const chatterItem = (id: string, name: string) =>
    h('li', {}, h('span', {}, name), h('button', { type: 'button', class: 'link', 'aria-label': `Make ${name} a moderator`, onclick: () => run(async () => (await client().addModerator(streamId, id), load())) }, 'Make moderator'));

  const settingsForm = h(
    'form',
    {
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        void run(async () => {
          const s = await client().updateChatSettings(streamId, { slowModeSeconds: Number(slow.value), blockedTerms: terms.value.split(',').map((t) => t.trim()).filter(Boolean) });
          settingsNote.textContent = `Saved: slow mode ${s.slowModeSeconds ? `${s.slowModeSeconds} s` : 'off'}, ${s.blockedTerms.length} blocked terms.`;
        });
      },
    },
    h('div', { class: 'row' }, field('Slow mode', slow), field('Blocked terms', terms, 'Separated by commas; the profanity filter always applies.')),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save chat settings')),
    settingsNote,
  );
  const addForm = h(
    'form',
    { class: 'copy-row', onsubmit: (ev: Event) => (ev.preventDefault(), void run(async () => (await client().addModerator(streamId, userId.value.trim()), (userId.value = ''), load()))) },
    field('Add moderator by user id', userId),
    h('button', { type: 'submit', class: 'secondary' }, 'Add'),
  );
  void load();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'chat-settings-heading' },
    h('h3', { id: 'chat-settings-heading' }, 'Chat and moderators'),
    settingsForm,
    h('h4', {}, 'Moderators'),
    modList,
    h('h4', {}, 'Recent chatters'),
    chatters,
    addForm,
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => void load() }, 'Refresh lists')),
    error,
  );
}
