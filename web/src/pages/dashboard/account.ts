// Signing up and signing in (one form, two buttons). On success the session is stored (which
// announces the sign-in) and `done` runs (the dashboard re-renders, the sign-in dialog closes).
import { isOnAirError } from '@onair/client-sdk';
import { field, h, messageOf } from '../../dom.js';
import { client, saveAuth } from '../../session.js';

export function accountForm(done: () => void): HTMLElement {
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, minLength: 3, maxLength: 32 });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, minLength: 8 });
  const error = h('p', { class: 'error', role: 'alert' });
  const signUp = h('button', { type: 'submit', name: 'action', value: 'register' }, 'Sign up');
  const signIn = h('button', { type: 'submit', name: 'action', value: 'login', class: 'secondary' }, 'Sign in');

  const form = h(
    'form',
    {
      class: 'card',
      'aria-labelledby': 'account-heading',
      onsubmit: async (ev: SubmitEvent) => {
        ev.preventDefault();
        const register = (ev.submitter as HTMLButtonElement | null)?.value !== 'login';
        error.textContent = '';
        signUp.disabled = signIn.disabled = true;
        try {
          const api = client();
          const auth = register
            ? await api.register(username.value.trim(), password.value)
            : await api.login(username.value.trim(), password.value);
          saveAuth(auth);
          done();
        } catch (err) {
          error.textContent =
            isOnAirError(err) && err.code === 'username_taken'
              ? 'That username is taken. Sign in instead, or pick another one.'
              : isOnAirError(err) && err.code === 'invalid_credentials'
                ? 'Wrong username or password.'
                : messageOf(err);
          signUp.disabled = signIn.disabled = false;
        }
      },
    },
    h('h2', { id: 'account-heading' }, 'Sign up or sign in to go live'),
    field('Username', username),
    field('Password', password, 'At least 8 characters.'),
    h('div', { class: 'actions' }, signUp, signIn),
    error,
  );
  return form;
}
