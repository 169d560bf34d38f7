// The watch page's chat: the message log (history on join, then live batches), the send form (or a
// "Sign in to chat" button), slow-mode and reconnecting notices, refused-message errors, and for the
// stream's owner and moderators the moderation actions on each message (delete, 10-minute timeout,
// ban). Moderation events from the channel remove messages for everyone. Reads the Channel it is
// given; does not own it.
import type { Channel, ChannelErrorFrame, ChatMessage } from '@onair/client-sdk';
import { h, messageOf } from '../../dom.js';
import { client, loadAuth } from '../../session.js';
import { openSignInDialog } from '../../components/sign-in-dialog.js';

const MAX_SHOWN = 200;
const TIMEOUT_SECONDS = 600;

const ERROR_TEXT: Record<string, string> = {
  not_signed_in: 'Sign in to chat.',
  banned: 'You are banned from this chat.',
  slow_mode: 'Slow mode is on: wait a little before your next message.',
  rate_limited: 'You are sending messages too fast.',
  blocked_term: 'That message contains a blocked word.',
  too_long: 'That message is too long (500 characters at most).',
  empty_message: 'Write something first.',
  chat_reconnecting: 'Chat is reconnecting; try again in a moment.',
};

export interface ChatPanel {
  element: HTMLElement;
  /** Re-renders the form and the moderation actions after sign-in/out or a role change. */
  setRole(canModerate: boolean): void;
  dispose(): void;
}

export function chatPanel(streamId: string, ch: Channel): ChatPanel {
  const log = h('ol', { class: 'chat-log', role: 'log', 'aria-label': 'Chat messages', 'aria-live': 'polite', tabindex: 0 });
  const notice = h('p', { class: 'chat-notice hint' });
  const error = h('p', { class: 'error', role: 'alert' });
  const input = h('input', { name: 'chat', id: 'f-chat', maxLength: 500, autocomplete: 'off', placeholder: 'Say something nice', 'aria-label': 'Chat message' });
  const send = h('button', { type: 'submit' }, 'Send');
  const form = h('form', { class: 'chat-form' }, input, send);
  const signIn = h('button', { type: 'button', class: 'secondary' }, 'Sign in to chat');
  signIn.addEventListener('click', () => openSignInDialog('Sign in or create an account to chat and tip.'));
  const footer = h('div', { class: 'chat-footer' });
  const element = h('aside', { class: 'chat card', 'aria-labelledby': 'chat-heading' }, h('h2', { id: 'chat-heading' }, 'Chat'), notice, log, error, footer);

  let canModerate = false;
  const pending = new Map<number, string>();

  const renderFooter = () => footer.replaceChildren(loadAuth() ? form : signIn);

  const messageItem = (m: ChatMessage): HTMLElement => {
    const li = h('li', { class: 'chat-message', 'data-id': m.id, 'data-user': m.userId }, h('strong', { class: 'who' }, m.username), ' ', h('span', { class: 'text' }, m.text));
    if (canModerate && m.userId !== loadAuth()?.user.id) li.append(moderationActions(m));
    return li;
  };

  const moderationActions = (m: ChatMessage): HTMLElement => {
    const act = (label: string, run: () => Promise<unknown>) =>
      h('button', {
        type: 'button',
        class: 'link',
        'aria-label': `${label} (${m.username}: ${m.text.slice(0, 40)})`,
        onclick: async () => {
          error.textContent = '';
          try {
            await run();
          } catch (err) {
            error.textContent = messageOf(err);
          }
        },
      }, label);
    return h(
      'span',
      { class: 'mod-actions' },
      act('Delete', () => client().deleteMessage(streamId, m.id)),
      act('Timeout', () => client().ban(streamId, m.userId, { durationSeconds: TIMEOUT_SECONDS })),
      act('Ban', () => client().ban(streamId, m.userId)),
    );
  };

  const append = (messages: ChatMessage[]) => {
    const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 40;
    log.append(...messages.map(messageItem));
    while (log.childElementCount > MAX_SHOWN) log.firstElementChild?.remove();
    if (stick) log.scrollTop = log.scrollHeight;
  };

  const offs = [
    ch.on('chat', (messages, info) => {
      append(messages);
      if (info.sampled) notice.textContent = 'Chat is fast: showing a sample.';
    }),
    ch.on('moderation', (ev) => {
      if (ev.deletedMessageId) log.querySelector(`[data-id="${CSS.escape(ev.deletedMessageId)}"]`)?.remove();
      if (ev.bannedUserId) log.querySelectorAll(`[data-user="${CSS.escape(ev.bannedUserId)}"]`).forEach((el) => el.remove());
    }),
    ch.on('status', (s) => {
      notice.textContent = s.chatReconnecting ? 'Chat is reconnecting…' : s.slowModeSeconds ? `Slow mode: one message every ${s.slowModeSeconds} s.` : '';
    }),
    ch.on('error', (e: ChannelErrorFrame) => {
      const text = pending.get(e.seq);
      pending.delete(e.seq);
      error.textContent = ERROR_TEXT[e.code] ?? e.message;
      if (text && !input.value) input.value = text; // give the refused text back
    }),
    ch.on('state', (state) => {
      send.disabled = state !== 'open';
      if (state === 'reconnecting') notice.textContent = 'Chat connection lost; reconnecting…';
      else if (state === 'open' && notice.textContent?.startsWith('Chat connection lost')) notice.textContent = '';
    }),
  ];

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    error.textContent = '';
    const seq = ch.chat(text);
    if (!seq) {
      error.textContent = 'Chat is not connected yet.';
      return;
    }
    pending.set(seq, text);
    if (pending.size > 50) pending.delete(pending.keys().next().value as number);
    input.value = '';
  });
  send.disabled = ch.state !== 'open';
  renderFooter();

  return {
    element,
    setRole(next) {
      canModerate = next;
      renderFooter();
      for (const li of log.querySelectorAll<HTMLElement>('.chat-message')) {
        li.querySelector('.mod-actions')?.remove();
        if (canModerate && li.dataset.user !== loadAuth()?.user.id) {
          li.append(moderationActions({ id: li.dataset.id ?? '', userId: li.dataset.user ?? '', username: li.querySelector('.who')?.textContent ?? '', text: li.querySelector('.text')?.textContent ?? '', sentAtMs: 0 }));
        }
      }
    },
    dispose: () => offs.forEach((off) => off()),
  };
}
