// Animated on-screen tip alerts ("alice tipped $5.00: great stream!") over a video frame, one at a
// time, each shown for a few seconds. Used by the watch page and the streamer's dashboard. The
// region is aria-live so screen readers announce tips too.
import type { TipEvent } from '@onair/client-sdk';
import { h } from '../dom.js';
import { formatMoney } from './money.js';

const SHOW_MS = 5000;

export interface TipAlerts {
  element: HTMLElement;
  show(tip: TipEvent): void;
  dispose(): void;
}

export function tipAlerts(): TipAlerts {
  const element = h('div', { class: 'tip-alerts', 'aria-live': 'polite' });
  const queue: TipEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const next = () => {
    timer = undefined;
    element.replaceChildren();
    const tip = queue.shift();
    if (!tip) return;
    element.append(
      h(
        'div',
        { class: 'tip-alert', 'data-tip-id': tip.tipId },
        h('strong', {}, `${tip.fromUsername} tipped ${formatMoney(tip.amount, tip.currency)}`),
        tip.message ? h('span', {}, tip.message) : null,
      ),
    );
    timer = setTimeout(next, SHOW_MS);
  };

  return {
    element,
    show(tip) {
      queue.push(tip);
      if (!timer) next();
    },
    dispose() {
      clearTimeout(timer);
      queue.length = 0;
    },
  };
}
