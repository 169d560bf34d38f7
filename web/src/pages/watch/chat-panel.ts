// The chat of the watch page and the dashboard: the message log (history on join, then live batches)
// that follows new messages unless the reader scrolled up ("More messages below" then), tips
// highlighted among the messages, the send form with a character counter (or a "Sign in to chat"
// button), the chat-mode notice (slow mode) and reconnecting notices, refused-message errors (a
// timeout with the time left), and for the stream's owner and moderators the moderation actions on
// each message (delete, 10-minute timeout, ban). Moderation events from the channel remove messages
// for everyone. Reads the Channel it is given; does not own it.
import type { Channel, ChannelErrorFrame, ChatMessage, TipEvent } from '@onair/client-sdk';
import { h, messageOf } from '../../dom.js';
import { client, loadAuth } from '../../session.js';
import { openSignInDialog } from '../../components/sign-in-dialog.js';
import { formatMoney } from '../../components/money.js';
import { formatRemaining } from '../../components/durations.js';

const MAX_SHOWN = 200;
const TIMEOUT_SECONDS = 600;
/** The server refuses longer messages (too_long); the counter says so before sending. */
export const MAX_CHAT_CHARS = 500;
/** Within this many pixels of the bottom, the log counts as following new messages. */
const FOLLOW_SLACK_PX = 40;

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

export function chatPanel(streamId: string, ch: Channel, options: { heading?: string } = {}): ChatPanel {
  const log = h('ol', { class: 'chat-log', role: 'log', 'aria-label': 'Chat messages', 'aria-live': 'polite', tabindex: 0 });
  const notice = h('p', { class: 'chat-notice hint', role: 'status' });
  const error = h('p', { class: 'error', role: 'alert' });
  const counter = h('span', { class: 'chat-counter', id: 'chat-counter', 'aria-live': 'polite' }, `0/${MAX_CHAT_CHARS}`);
  const input = h('input', {
    name: 'chat',
    id: 'f-chat',
    autocomplete: 'off',
    placeholder: 'Say something nice',
    'aria-label': 'Chat message',
    'aria-describedby': 'chat-counter',
  });
  const send = h('button', { type: 'submit' }, 'Send');
  const form = h('form', { class: 'chat-form' }, input, send, counter);
  const signIn = h('button', { type: 'button', class: 'secondary' }, 'Sign in to chat');
  signIn.addEventListener('click', () => openSignInDialog('Sign in or create an account to chat and tip.'));
  const below = h('button', { type: 'button', class: 'more-below', hidden: true }, 'More messages below');
  const footer = h('div', { class: 'chat-footer' });
  const element = h(
    'aside',
    { class: 'chat card', 'aria-labelledby': 'chat-heading' },
    h('h2', { id: 'chat-heading' }, options.heading ?? 'Chat'),
    notice,
    h('div', { class: 'chat-scroll' }, log, below),
    error,
    footer,
  );

  let canModerate = false;
  let connected = ch.state === 'open';
  let slowModeSeconds = 0;
  let statusSeen = false;
  let chatReconnecting = false;
  const renderNotice = () => {
    notice.textContent = chatReconnecting
      ? 'Chat is reconnecting…'
      : slowModeSeconds
        ? `Slow mode is on: one message every ${slowModeSeconds} s.`
        : '';
  };
  client()
    .chatSettings(streamId)
    .then((mode) => {
      if (!statusSeen || mode.slowModeSeconds) slowModeSeconds = mode.slowModeSeconds;
      renderNotice();
    })
    .catch(() => {}); // the channel's status frames still tell
  const pending = new Map<number, string>();

  const tooLong = () => [...input.value.trim()].length > MAX_CHAT_CHARS;
  const renderCounter = () => {
    const n = [...input.value.trim()].length;
    counter.textContent = n > MAX_CHAT_CHARS ? `${n}/${MAX_CHAT_CHARS}: ${n - MAX_CHAT_CHARS} too many` : `${n}/${MAX_CHAT_CHARS}`;
    counter.classList.toggle('over', n > MAX_CHAT_CHARS);
    send.disabled = !connected || tooLong();
  };
  input.addEventListener('input', renderCounter);
  const atBottom = () => log.scrollTop + log.clientHeight >= log.scrollHeight - FOLLOW_SLACK_PX;
  const toBottom = () => {
    log.scrollTop = log.scrollHeight;
    below.hidden = true;
  };
  below.addEventListener('click', toBottom);
  log.addEventListener('scroll', () => {
    if (atBottom()) below.hidden = true;
  });

  const renderFooter = () => footer.replaceChildren(loadAuth() ? form : signIn);

  const messageItem = (m: ChatMessage): HTMLElement => {
    const li = h(
      'li',
      { class: 'chat-message', 'data-id': m.id, 'data-user': m.userId },
      h('strong', { class: 'who' }, m.username),
      ' ',
      h('span', { class: 'text' }, m.text),
    );
    if (canModerate && m.userId !== loadAuth()?.user.id) li.append(moderationActions(m));
    return li;
  };

  const moderationActions = (m: ChatMessage): HTMLElement => {
    const act = (label: string, run: () => Promise<unknown>) =>
      h(
        'button',
        {
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
        },
        label,
      );
    return h(
      'span',
      { class: 'mod-actions' },
      act('Delete', () => client().deleteMessage(streamId, m.id)),
      act(`Timeout ${TIMEOUT_SECONDS / 60} min`, () => client().ban(streamId, m.userId, { durationSeconds: TIMEOUT_SECONDS })),
      act('Ban', () => client().ban(streamId, m.userId)),
    );
  };

  const append = (items: HTMLElement[]) => {
    const follow = atBottom();
    log.append(...items);
    while (log.childElementCount > MAX_SHOWN) log.firstElementChild?.remove();
    if (follow) toBottom();
    else below.hidden = false;
  };
  const tipItem = (t: TipEvent) =>
    h(
      'li',
      { class: 'chat-tip', 'data-tip': t.tipId },
      h('span', { class: 'tip-badge' }, formatMoney(t.amount, t.currency)),
      ' ',
      h('strong', { class: 'who' }, t.fromUsername),
      ' tipped',
      t.message ? h('span', { class: 'text' }, `: ${t.message}`) : '',
    );

  const offs = [
    ch.on('chat', (messages, info) => {
      append(messages.map(messageItem));
      if (info.sampled) notice.textContent = 'Chat is fast: showing a sample.';
    }),
    ch.on('tip', (t) => {
      if (!log.querySelector(`[data-tip="${CSS.escape(t.tipId)}"]`)) append([tipItem(t)]);
    }),
    ch.on('moderation', (ev) => {
      if (ev.deletedMessageId) log.querySelector(`[data-id="${CSS.escape(ev.deletedMessageId)}"]`)?.remove();
      if (ev.bannedUserId) log.querySelectorAll(`[data-user="${CSS.escape(ev.bannedUserId)}"]`).forEach((el) => el.remove());
      if (ev.bannedUserId && ev.bannedUserId === loadAuth()?.user.id) {
        error.textContent = ev.bannedUntilMs
          ? `You are timed out for ${formatRemaining(ev.bannedUntilMs - Date.now())}.`
          : 'You are banned from this chat.';
      }
    }),
    ch.on('status', (s) => {
      // A joiner's first status frame may not carry the chat mode: it is read from the API too.
      if (s.slowModeSeconds || statusSeen) slowModeSeconds = s.slowModeSeconds;
      statusSeen = true;
      chatReconnecting = s.chatReconnecting;
      renderNotice();
    }),
    ch.on('error', (e: ChannelErrorFrame) => {
      const text = pending.get(e.seq);
      pending.delete(e.seq);
      error.textContent =
        e.code === 'banned' && e.retryAfterMs > 0
          ? `You are timed out: you can chat again in ${formatRemaining(e.retryAfterMs)}.`
          : (ERROR_TEXT[e.code] ?? e.message);
      if (text && !input.value) input.value = text; // give the refused text back
    }),
    ch.on('state', (state) => {
      connected = state === 'open';
      renderCounter();
      if (state === 'reconnecting') notice.textContent = 'Chat connection lost; reconnecting…';
      else if (state === 'open' && notice.textContent?.startsWith('Chat connection lost')) notice.textContent = '';
    }),
  ];

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (tooLong()) {
      error.textContent = ERROR_TEXT.too_long!;
      return;
    }
    error.textContent = '';
    const seq = ch.chat(text);
    if (!seq) {
      error.textContent = 'Chat is not connected yet.';
      return;
    }
    pending.set(seq, text);
    if (pending.size > 50) pending.delete(pending.keys().next().value as number);
    input.value = '';
    renderCounter();
  });
  renderCounter();
  renderFooter();

  return {
    element,
    setRole(next) {
      canModerate = next;
      renderFooter();
      for (const li of log.querySelectorAll<HTMLElement>('.chat-message')) {
        li.querySelector('.mod-actions')?.remove();
        if (canModerate && li.dataset.user !== loadAuth()?.user.id) {
          li.append(
            moderationActions({
              id: li.dataset.id ?? '',
              userId: li.dataset.user ?? '',
              username: li.querySelector('.who')?.textContent ?? '',
              text: li.querySelector('.text')?.textContent ?? '',
              sentAtMs: 0,
            }),
          );
        }
      }
    },
    dispose: () => offs.forEach((off) => off()),
  };
}
