// Prometheus metrics of the tip ledger on this node: tips and group-commit batches committed, TipEvents
// published, and tips waiting in the outbox (a growing outbox means the channel is not keeping up).
// Read-only: collecting never changes the ledger.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TipLedger } from './tip-ledger.js';
import type { TipOutboxRelay } from './tip-outbox.js';

export function registerLedgerMetrics(registry: Registry, tips: TipLedger, relay: TipOutboxRelay): void {
  // Counters mirror running totals kept by the ledger, so they are set from them on each scrape.
  const mirror = (name: string, help: string, read: () => number) => {
    let last = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const now = read();
        if (now > last) this.inc(now - last);
        last = now;
      },
    });
  };
  mirror('onair_tips_committed_total', 'new tips committed by this node (replays and refusals not counted)', () => tips.stats().tips);
  mirror('onair_tip_batches_total', 'group-commit transactions of tips on this node', () => tips.stats().batches);
  mirror('onair_tip_events_published_total', "TipEvents published by this node's outbox relay", () => relay.stats.published);
  new Gauge({
    name: 'onair_tip_outbox_pending',
    help: 'committed tips not yet published (all nodes)',
    registers: [registry],
    async collect() {
      this.set(await relay.pending().catch(() => -1));
    },
  });
}
