// Editing a stream's title, category, tags and language (PATCH /api/streams/{id}), and rotating its
// stream key (the new key is remembered and shown; a running broadcast is ended by the server).
import { isOnAirError, type OwnedStream } from '@onair/client-sdk';
import { field, h, messageOf } from '../../dom.js';
import { client, saveOwnedStream } from '../../session.js';

export function streamSettings(stream: OwnedStream, changed: () => void): HTMLElement {
  const title = h('input', { name: 'edit-title', required: true, maxLength: 140, value: stream.title });
  const category = h('input', { name: 'edit-category', maxLength: 50, value: stream.category });
  const tags = h('input', { name: 'edit-tags', value: stream.tags.join(', ') });
  const language = h('input', { name: 'edit-language', maxLength: 8, value: stream.language });
  const note = h('p', { class: 'hint', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert' });
  const rotate = h('button', { type: 'button', class: 'secondary' }, 'Rotate stream key');

  rotate.addEventListener('click', async () => {
    if (!confirm('Rotate the stream key? The old key stops working and a running broadcast ends.')) return;
    error.textContent = '';
    try {
      const { streamKey, ingest } = await client().rotateStreamKey(stream.id);
      saveOwnedStream({ ...stream, streamKey, ingest });
      changed();
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
          const s = await client().updateStream(stream.id, {
            title: title.value.trim(),
            category: category.value.trim(),
            language: language.value.trim() || 'en',
            tags: tags.value.split(',').map((t) => t.trim()).filter(Boolean),
          });
          saveOwnedStream({ ...stream, title: s.title, category: s.category, language: s.language, tags: s.tags });
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
