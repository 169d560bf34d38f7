// The streamer's live stats: viewers now and over time (a small SVG chart of the channel's viewer
// counts, one point every 2 s, the last 10 minutes), the publishing bitrate (from the publisher's
// getStats), and tips received on this stream (total and the latest, live from the channel, seeded
// from GET /api/wallet/tips). Reads the Channel it is given; owns only its timer.
import type { Channel, Publisher, TipEvent } from '@onair/client-sdk';
import { h, fill } from '../../dom.js';
import { formatMoney } from '../../components/money.js';
import { client } from '../../session.js';

const MAX_POINTS = 300;
const BITRATE_EVERY_MS = 2000;

export function statsCard(
  streamId: string,
  ch: Channel,
  publisher: () => Publisher | undefined,
): { element: HTMLElement; dispose: () => void } {
  const viewersNow = h('strong', { class: 'stat-value', 'data-stat': 'viewers' }, '0');
  const bitrate = h('strong', { class: 'stat-value', 'data-stat': 'bitrate' }, '—');
  const tipsTotal = h('strong', { class: 'stat-value', 'data-stat': 'tips' }, formatMoney(0));
  const chart = svg('svg', {
    class: 'chart',
    viewBox: '0 0 300 80',
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': 'Viewers over time',
  });
  const line = svg('polyline', { fill: 'none', 'stroke-width': '2', class: 'chart-line', points: '' });
  chart.append(line);
  const tipList = h('ul', { class: 'tip-list', 'aria-label': 'Latest tips' });
  const points: number[] = [];
  const seenTips = new Set<string>();
  let total = 0;
  let currency = 'USD';

  const drawChart = () => {
    const max = Math.max(1, ...points);
    const step = 300 / Math.max(1, MAX_POINTS - 1);
    const offset = MAX_POINTS - points.length;
    line.setAttribute('points', points.map((v, i) => `${((offset + i) * step).toFixed(1)},${(78 - (v / max) * 74).toFixed(1)}`).join(' '));
    chart.setAttribute('aria-label', `Viewers over time: now ${points.at(-1) ?? 0}, peak ${max}`);
  };

  const addTip = (tip: { id: string; fromUsername: string; amount: number; currency: string; message: string | null }) => {
    if (seenTips.has(tip.id)) return;
    seenTips.add(tip.id);
    total += tip.amount;
    currency = tip.currency;
    tipsTotal.textContent = formatMoney(total, currency);
    tipList.prepend(
      h('li', {}, h('strong', {}, tip.fromUsername), ` ${formatMoney(tip.amount, tip.currency)}`, tip.message ? ` — ${tip.message}` : ''),
    );
    while (tipList.childElementCount > 10) tipList.lastElementChild?.remove();
  };

  const offs = [
    ch.on('viewers', (n) => {
      viewersNow.textContent = String(n);
      points.push(n);
      if (points.length > MAX_POINTS) points.shift();
      drawChart();
    }),
    ch.on('tip', (t: TipEvent) =>
      addTip({ id: t.tipId, fromUsername: t.fromUsername, amount: t.amount, currency: t.currency, message: t.message }),
    ),
  ];

  void client()
    .receivedTips({ limit: 200 })
    .then(({ items }) =>
      items
        .filter((t) => t.streamId === streamId)
        .reverse()
        .forEach(addTip),
    )
    .catch(() => {});

  let lastBytes = 0;
  let lastAt = 0;
  const timer = setInterval(async () => {
    const pub = publisher();
    if (pub?.state !== 'connected') {
      bitrate.textContent = '—';
      lastBytes = 0;
      return;
    }
    let bytes = 0;
    const stats = await pub.pc.getStats().catch(() => undefined);
    stats?.forEach((s: { type: string; bytesSent?: number }) => {
      if (s.type === 'outbound-rtp') bytes += s.bytesSent ?? 0;
    });
    const now = performance.now();
    if (lastBytes && now > lastAt) bitrate.textContent = `${Math.round(((bytes - lastBytes) * 8) / (now - lastAt))} kbit/s`;
    lastBytes = bytes;
    lastAt = now;
  }, BITRATE_EVERY_MS);

  const stat = (label: string, value: HTMLElement) => h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, label), value);
  const element = h(
    'section',
    { class: 'card stats', 'aria-labelledby': 'stats-heading' },
    h('h3', { id: 'stats-heading' }, 'Stats'),
    h('div', { class: 'stat-row' }, stat('Viewers', viewersNow), stat('Bitrate', bitrate), stat('Tips received', tipsTotal)),
    chart,
    tipList,
  );
  fill(tipList);
  return {
    element,
    dispose: () => {
      clearInterval(timer);
      offs.forEach((off) => off());
    },
  };
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>): SVGElementTagNameMap[K] {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}
