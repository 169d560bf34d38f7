// Editing a stream's title, category, tags and language (PATCH /api/streams/{id}), filled from the
// server's copy, and rotating its stream key. `saved` gets the server's answer (the dashboard's
// heading and channel list follow it); `rotated` gets the new key (kept in page memory only) after
// the server has ended any broadcast that used the old one.
import { isOnAirError, type ChannelStream, type Stream } from '@onair/client-sdk';
import { field, h, messageOf } from '../../dom.js';
import { LANGUAGES, languageName } from '../../components/languages.js';
import { client } from '../../session.js';

export interface StreamSettingsEvents {
  saved(stream: Stream): void;
  rotated(streamKey: string): void;
}

export function streamSettings(stream: ChannelStream, on: StreamSettingsEvents): HTMLElement {
  const title = h('input', { name: 'edit-title', required: true, maxLength: 140, value: stream.title });
  const category = h('input', { name: 'edit-category', maxLength: 50, value: stream.category });
  const tags = h('input', { name: 'edit-tags', value: stream.tags.join(', ') });
  const codes = LANGUAGES.map(([code]) => code);
  const language = h(
    'select',
    { name: 'edit-language' },
    ...LANGUAGES.map(([code, name]) => h('option', { value: code }, name)),
    codes.includes(stream.language) ? null : h('option', { value: stream.language }, languageName(stream.language)),
  );
  language.value = stream.language;
  const note = h('p', { class: 'hint', role: 'status' });
  const error = h('p', { class: 'error', role: 'alert' });
  const rotate = h('button', { type: 'button', class: 'secondary' }, 'Rotate stream key');

  rotate.addEventListener('click', async () => {
    if (!confirm('Rotate the stream key? The old key stops working and a running broadcast ends.')) return;
    error.textContent = note.textContent = '';
    try {
      const { streamKey } = await client().rotateStreamKey(stream.id);
      on.rotated(streamKey);
      note.textContent = 'New stream key made: the old one no longer works.';
    } catch (err) {
      error.textContent = messageOf(err);
    }
  });

  return h(
    'form',
    {
      class: 'card',
      'aria-labelledby': 'settings-heading',
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        error.textContent = note.textContent = '';
        try {
          const saved = await client().updateStream(stream.id, {
            title: title.value.trim(),
            category: category.value.trim(),
            language: language.value || 'en',
            tags: tags.value
              .split(',')
              .map((t) => t.trim())
              .filter(Boolean),
          });
          on.saved(saved);
          note.textContent = 'Saved.';
        } catch (err) {
          error.textContent = isOnAirError(err) ? `${err.message}` : messageOf(err);
        }
      },
    },
    h('h3', { id: 'settings-heading' }, 'Stream details'),
    h('div', { class: 'row' }, field('Stream title', title), field('Stream category', category)),
    h('div', { class: 'row' }, field('Stream tags', tags, 'Separated by commas.'), field('Stream language', language)),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save details'), rotate),
    note,
    error,
  );
}
