// Group commit for tips: a TipWriter collects the tips routed to it for a few milliseconds (or while
// its previous batch is committing) and commits them together with commitTipBatch, one transaction
// per batch and one batch in flight per writer. The TipLedger routes by streamer, so writers never
// queue on each other's earnings rows. A batch that fails on a lost connection or a restarting server
// is retried as a whole (safe: replays are answered from the tips table by Idempotency-Key); a batch
// that fails for any other reason is retried tip by tip so one bad tip fails alone. Never resolves a
// tip before its transaction has committed.
import type { Database } from '../db/database.js';
import { isRetryable } from '../db/failures.js';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import { commitTipBatch, type DraftOutcome, type TipDraft } from './tip-batch.js';

export interface TipWriterOptions {
  /** Most tips per transaction. */
  maxBatch: number;
  /** How long the first tip of an idle writer waits for company before its batch commits. */
  lingerMs: number;
  /** How long a batch keeps retrying through connection failures before its tips fail with 503. */
  retryForMs: number;
}

interface Pending {
  draft: TipDraft;
  resolve(outcome: DraftOutcome): void;
  reject(err: unknown): void;
}

export class TipWriter {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  /** Batches committed so far, and the new tips they committed (metrics, bench). */
  readonly stats = { batches: 0, tips: 0, retries: 0 };
  /** Called after each batch that committed new tips (the outbox relay's wake-up). */
  onCommitted: (() => void) | undefined;

  constructor(
    private readonly db: Database,
    private readonly feeAccountId: number,
    private readonly currency: string,
    private readonly options: TipWriterOptions,
    private readonly log: Logger,
  ) {}

  submit(draft: TipDraft): Promise<DraftOutcome> {
    if (this.closed) return Promise.reject(new AppError(503, 'shutting_down', 'this node is shutting down; retry the same request'));
    return new Promise((resolve, reject) => {
      this.queue.push({ draft, resolve, reject });
      this.schedule();
    });
  }

  /** Commits what is queued, then refuses new tips. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.running || this.queue.length > 0) {
      if (!this.running) this.startBatch();
      await this.running;
    }
  }

  private schedule(): void {
    if (this.running) return; // the running batch starts the next one when it ends
    if (this.queue.length >= this.options.maxBatch) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.startBatch();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.startBatch();
      }, this.options.lingerMs);
    }
  }

  private startBatch(): void {
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.running = this.commit(batch).finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) {
        // Tips that arrived during the commit form the next batch straight away.
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        this.startBatch();
      }
    });
  }

  private async commit(batch: Pending[]): Promise<void> {
    try {
      const startedMs = performance.now();
      const outcomes = await this.commitWithRetry(batch.map((p) => p.draft));
      this.stats.batches++;
      this.stats.tips += outcomes.filter((o) => o.kind === 'committed').length;
      this.log.debug({ tips: batch.length, ms: Math.round(performance.now() - startedMs) }, 'tip batch committed');
      batch.forEach((p, i) => p.resolve(outcomes[i]!));
      if (outcomes.some((o) => o.kind === 'committed')) this.onCommitted?.();
    } catch (err) {
      if (batch.length > 1 && !isRetryable(err)) {
        this.log.warn({ err, tips: batch.length }, 'tip batch failed; retrying its tips one by one');
        for (const p of batch) await this.commit([p]);
        return;
      }
      if (!isRetryable(err)) this.log.error({ err, tipId: batch[0]?.draft.id }, 'tip failed to commit');
      const failure = isRetryable(err)
        ? new AppError(503, 'ledger_unavailable', 'the ledger is unavailable; retry with the same Idempotency-Key')
        : err;
      for (const p of batch) p.reject(failure);
    }
  }

  private async commitWithRetry(drafts: TipDraft[]): Promise<DraftOutcome[]> {
    const deadline = Date.now() + this.options.retryForMs;
    let delayMs = 50;
    for (;;) {
      try {
        return await commitTipBatch(this.db, drafts, this.feeAccountId, this.currency);
      } catch (err) {
        if (!isRetryable(err) || Date.now() + delayMs > deadline) throw err;
        this.stats.retries++;
        this.log.warn({ err: String(err), tips: drafts.length, retryInMs: delayMs }, 'tip batch hit a database failure; retrying');
        await new Promise((r) => setTimeout(r, delayMs));
        delayMs = Math.min(delayMs * 2, 1000);
      }
    }
  }
}
