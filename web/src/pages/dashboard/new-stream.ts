// Creating a stream: title, category, tags and language. The key the server shows only now is kept
// in this page's memory (stream-key-memory.ts) and `done` shows the new stream on the dashboard.
import { isOnAirError } from '@onair/client-sdk';
import { field, h, messageOf } from '../../dom.js';
import { LANGUAGES } from '../../components/languages.js';
import { client } from '../../session.js';
import { rememberStreamKey } from './stream-key-memory.js';

export function newStreamForm(done: (streamId: string) => void, signOut: () => void, cancel?: () => void): HTMLElement {
  const title = h('input', { name: 'title', required: true, maxLength: 140, placeholder: 'What are you streaming?' });
  const category = h('input', { name: 'category', maxLength: 60, placeholder: 'e.g. Music', list: 'onair-categories' });
  const tags = h('input', { name: 'tags', placeholder: 'e.g. chill, guitar' });
  const language = h('select', { name: 'language' }, ...LANGUAGES.map(([code, name]) => h('option', { value: code }, name)));
  const categories = h(
    'datalist',
    { id: 'onair-categories' },
    ...['Music', 'Gaming', 'Talk', 'Coding', 'Art', 'Sports'].map((c) => h('option', { value: c })),
  );
  const error = h('p', { class: 'error', role: 'alert' });
  const create = h('button', { type: 'submit' }, 'Create stream');

  return h(
    'form',
    {
      class: 'card',
      'aria-labelledby': 'new-stream-heading',
      onsubmit: async (ev: SubmitEvent) => {
        ev.preventDefault();
        error.textContent = '';
        create.disabled = true;
        try {
          const stream = await client().createStream({
            title: title.value.trim(),
            category: category.value.trim(),
            language: language.value,
            tags: tags.value
              .split(',')
              .map((t) => t.trim())
              .filter(Boolean),
          });
          rememberStreamKey(stream.id, stream.streamKey);
          done(stream.id);
        } catch (err) {
          if (isOnAirError(err) && err.status === 401) return signOut(); // the token expired
          error.textContent = messageOf(err);
          create.disabled = false;
        }
      },
    },
    h('h2', { id: 'new-stream-heading' }, 'New stream'),
    field('Title', title),
    field('Category', category),
    categories,
    field('Tags', tags, 'Separated by commas.'),
    field('Language', language),
    h('div', { class: 'actions' }, create, cancel ? h('button', { type: 'button', class: 'secondary', onclick: cancel }, 'Cancel') : null),
    error,
  );
}
