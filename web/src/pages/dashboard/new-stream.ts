// Creating a stream: title, category, tags and language. The created stream (with its key, which the
// server shows only now) is remembered and `done` re-renders the dashboard.
import { isOnAirError } from '@onair/client-sdk';
import { field, h, messageOf } from '../../dom.js';
import { client, saveOwnedStream } from '../../session.js';

const LANGUAGES: Array<[string, string]> = [
  ['en', 'English'], ['es', 'Spanish'], ['fr', 'French'], ['de', 'German'], ['pt', 'Portuguese'],
  ['it', 'Italian'], ['ja', 'Japanese'], ['ko', 'Korean'], ['zh', 'Chinese'], ['other', 'Other'],
];

export function newStreamForm(done: () => void, signOut: () => void): HTMLElement {
  const title = h('input', { name: 'title', required: true, maxLength: 140, placeholder: 'What are you streaming?' });
  const category = h('input', { name: 'category', maxLength: 60, placeholder: 'e.g. Music', list: 'onair-categories' });
  const tags = h('input', { name: 'tags', placeholder: 'e.g. chill, guitar' });
  const language = h('select', { name: 'language' }, ...LANGUAGES.map(([code, name]) => h('option', { value: code }, name)));
  const categories = h('datalist', { id: 'onair-categories' }, ...['Music', 'Gaming', 'Talk', 'Coding', 'Art', 'Sports'].map((c) => h('option', { value: c })));
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
            tags: tags.value.split(',').map((t) => t.trim()).filter(Boolean),
          });
          saveOwnedStream(stream);
          done();
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
    h('div', { class: 'actions' }, create),
    error,
  );
}
