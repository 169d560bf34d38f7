// The Tip button and its dialog: amount presets (or a custom amount), an optional message, the
// wallet balance and a top-up. With the development payment provider a top-up credits test funds at
// once; with Stripe the app can only start the payment (confirming it needs Stripe.js, not bundled).
// Each tip is sent with a fresh Idempotency-Key, reused if the same tip is retried after an error.
import { isOnAirError, newIdempotencyKey, type Wallet } from '@onair/client-sdk';
import { field, h, messageOf } from '../../dom.js';
import { formatMoney } from '../../components/money.js';
import { openSignInDialog } from '../../components/sign-in-dialog.js';
import { client, loadAuth } from '../../session.js';

const PRESETS = [100, 200, 500, 1000];
const TOPUP = 2000;

export function tipButton(streamId: string, isOwnStream: () => boolean): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'tip-button' }, 'Tip');
  button.addEventListener('click', () => {
    if (!loadAuth()) return openSignInDialog('Sign in or create an account to tip this streamer.');
    if (isOwnStream()) return alertDialog('This is your own stream: you cannot tip yourself.');
    openTipDialog(streamId);
  });
  return button;
}

function alertDialog(text: string): void {
  const dialog = h('dialog', { class: 'dialog' }, h('p', {}, text), h('form', { method: 'dialog' }, h('button', {}, 'OK')));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

function openTipDialog(streamId: string): void {
  let amount = 500;
  let key = newIdempotencyKey();
  let wallet: Wallet | undefined;
  const balance = h('p', { class: 'balance' }, 'Balance: …');
  const status = h('p', { class: 'hint', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert' });
  const custom = h('input', {
    type: 'number',
    name: 'custom-amount',
    min: 1,
    step: 0.01,
    inputMode: 'decimal',
    placeholder: 'Other amount',
  });
  const message = h('input', { name: 'tip-message', maxLength: 280, placeholder: 'Say thanks (optional)' });
  const presetButtons = PRESETS.map((p) =>
    h(
      'button',
      { type: 'button', class: 'secondary preset', 'aria-pressed': String(p === amount), onclick: () => choose(p) },
      formatMoney(p),
    ),
  );
  const topUp = h('button', { type: 'button', class: 'secondary', hidden: true }, `Add ${formatMoney(TOPUP)} test funds`);
  const sendTip = h('button', { type: 'submit' }, 'Send tip');
  const close = h('button', { type: 'button', class: 'secondary' }, 'Close');

  const choose = (p: number) => {
    amount = p;
    custom.value = '';
    key = newIdempotencyKey();
    presetButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(PRESETS[i] === p)));
  };
  custom.addEventListener('input', () => {
    const v = Math.round(Number(custom.value) * 100);
    if (v > 0) {
      amount = v;
      key = newIdempotencyKey();
      presetButtons.forEach((b) => b.setAttribute('aria-pressed', 'false'));
    }
  });
  message.addEventListener('input', () => (key = newIdempotencyKey()));

  const showWallet = (w: Wallet) => {
    wallet = w;
    balance.textContent = `Balance: ${formatMoney(w.balance, w.currency)}`;
    topUp.hidden = w.topups.provider === 'unavailable';
    if (w.topups.provider === 'stripe') topUp.textContent = `Top up ${formatMoney(TOPUP, w.currency)}`;
  };
  const refreshWallet = async () => {
    try {
      showWallet(await client().wallet());
    } catch (err) {
      balance.textContent = `Balance unavailable: ${messageOf(err)}`;
    }
  };

  topUp.addEventListener('click', async () => {
    error.textContent = '';
    topUp.disabled = true;
    try {
      const r = await client().topUp(TOPUP);
      if (r.provider === 'development') {
        status.textContent = `Added ${formatMoney(r.amount, r.currency)} of test funds (no card was charged).`;
        if (wallet) showWallet({ ...wallet, balance: r.balance });
      } else {
        status.textContent = 'Payment started; your balance updates once the card payment is confirmed.';
      }
    } catch (err) {
      error.textContent = messageOf(err);
    }
    topUp.disabled = false;
  });

  const form = h(
    'form',
    {
      class: 'tip-form',
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        error.textContent = '';
        sendTip.disabled = true;
        try {
          const { tip } = await client().tip(streamId, {
            amount,
            idempotencyKey: key,
            ...(message.value.trim() ? { message: message.value.trim() } : {}),
          });
          status.textContent = `Thank you! You tipped ${formatMoney(tip.amount, tip.currency)}.`;
          key = newIdempotencyKey();
          await refreshWallet();
        } catch (err) {
          if (isOnAirError(err) && err.code === 'insufficient_funds') error.textContent = 'Not enough balance for this tip. Top up first.';
          else if (isOnAirError(err) && err.code === 'cannot_tip_yourself') error.textContent = 'You cannot tip your own stream.';
          else if (isOnAirError(err) && err.code === 'amount_too_small') error.textContent = 'That amount is below the minimum tip.';
          else error.textContent = messageOf(err);
        }
        sendTip.disabled = false;
      },
    },
    h('div', { class: 'presets', role: 'group', 'aria-label': 'Amount' }, ...presetButtons),
    field('Other amount (USD)', custom),
    field('Message', message),
    h('div', { class: 'actions' }, sendTip, topUp, close),
  );
  const dialog = h(
    'dialog',
    { class: 'dialog tip-dialog', 'aria-labelledby': 'tip-heading' },
    h('h2', { id: 'tip-heading' }, 'Send a tip'),
    balance,
    form,
    status,
    error,
  );
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  void refreshWallet();
}
