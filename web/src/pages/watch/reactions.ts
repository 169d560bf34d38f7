// Reaction buttons under the player and the bursts floating over the video: the channel sends the
// counts of all viewers' reactions every 250 ms, and each count becomes that many floating emoji
// (capped per frame so a storm stays light). Reads the Channel it is given; does not own it.
import { REACTIONS, type Channel } from '@onair/client-sdk';
import { h } from '../../dom.js';

const MAX_FLOATERS_PER_FRAME = 12;
const FLOAT_MS = 2500;

export function reactionButtons(ch: Channel): HTMLElement {
  return h(
    'div',
    { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
    ...REACTIONS.map((emoji) =>
      h('button', { type: 'button', class: 'reaction', 'aria-label': `React ${emoji}`, onclick: () => ch.react(emoji) }, emoji),
    ),
  );
}

/** A layer over the video that shows reaction bursts; returns it and its unsubscribe. */
export function reactionLayer(ch: Channel): { element: HTMLElement; dispose: () => void } {
  const element = h('div', { class: 'reaction-layer', 'aria-hidden': 'true' });
  const reduceMotion = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false;
  const off = ch.on('reactions', ({ counts }) => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    if (!total) return;
    let budget = MAX_FLOATERS_PER_FRAME;
    for (const [emoji, n] of Object.entries(counts)) {
      const shown = Math.max(1, Math.round((n / total) * Math.min(total, MAX_FLOATERS_PER_FRAME)));
      for (let i = 0; i < shown && budget > 0; i++, budget--) {
        const floater = h('span', { class: `reaction-burst${reduceMotion ? ' still' : ''}`, 'data-emoji': emoji }, emoji);
        floater.style.left = `${10 + Math.random() * 80}%`;
        floater.style.animationDelay = `${Math.random() * 200}ms`;
        if (n > 1 && i === 0) floater.dataset.count = `×${n}`;
        element.append(floater);
        setTimeout(() => floater.remove(), FLOAT_MS);
      }
    }
  });
  return { element, dispose: off };
}
