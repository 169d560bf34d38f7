// A modal <dialog> with the sign-up / sign-in form, for pages that need an account for one action
// (chatting, tipping) without leaving the page. Closes itself once signed in.
import { h } from '../dom.js';
import { accountForm } from '../pages/dashboard/account.js';

export function openSignInDialog(reason: string): void {
  const dialog = h('dialog', { class: 'dialog', 'aria-label': 'Sign in' });
  const close = h('button', { type: 'button', class: 'secondary close', 'aria-label': 'Close' }, 'Close');
  close.addEventListener('click', () => dialog.close());
  dialog.append(
    h('p', { class: 'hint' }, reason),
    accountForm(() => dialog.close()),
    close,
  );
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
