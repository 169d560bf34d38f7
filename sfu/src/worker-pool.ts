// Owns the mediasoup C++ workers of this node: one per core by default. Hands out the least-loaded
// worker for a new router, replaces a worker that dies (its streams end through their routers'
// close events), and closes every worker on shutdown. Never creates routers itself.
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from '@onair/platform';

export interface WorkerPoolOptions {
  numWorkers: number;
  logLevel: types.WorkerLogLevel;
  rtcMinPort: number;
  rtcMaxPort: number;
}

export class WorkerPool {
  private readonly workers: types.Worker[] = [];
  private closed = false;
  private readonly load = new WeakMap<types.Worker, number>();

  private constructor(
    private readonly opts: WorkerPoolOptions,
    private readonly log: Logger,
  ) {}

  static async start(opts: WorkerPoolOptions, log: Logger): Promise<WorkerPool> {
    const pool = new WorkerPool(opts, log);
    for (let i = 0; i < opts.numWorkers; i++) pool.workers.push(await pool.spawn(i));
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  get all(): readonly types.Worker[] {
    return this.workers;
  }

  /** The worker with the fewest routers+consumers booked on it. */
  leastLoaded(): types.Worker {
    if (!this.workers.length) throw new Error('no mediasoup worker is running');
    return this.workers.reduce((a, b) => ((this.load.get(b) ?? 0) < (this.load.get(a) ?? 0) ? b : a));
  }

  /** The least-loaded worker that passes `accept` (e.g. one a stream has no router on yet), if any. */
  leastLoadedWhere(accept: (w: types.Worker) => boolean): types.Worker | undefined {
    const candidates = this.workers.filter(accept);
    return candidates.reduce<types.Worker | undefined>(
      (a, b) => (a && (this.load.get(a) ?? 0) <= (this.load.get(b) ?? 0) ? a : b),
      undefined,
    );
  }

  /**
   * Books (or releases, with a negative n) load units on a worker for placement decisions. Not
   * clamped: a release without its booking would show as negative load (see `bookedLoad`), which is
   * how a double release is caught rather than hidden.
   */
  book(worker: types.Worker, n: number): void {
    this.load.set(worker, (this.load.get(worker) ?? 0) + n);
  }

  /** The load booked on each worker now (0 everywhere once every stream and viewer is gone). */
  bookedLoad(): number[] {
    return this.workers.map((w) => this.load.get(w) ?? 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.workers) w.close();
    this.workers.length = 0;
  }

  private async spawn(index: number): Promise<types.Worker> {
    const worker = await mediasoup.createWorker({
      logLevel: this.opts.logLevel,
      ...(this.opts.logLevel === 'debug' ? { logTags: ['info', 'ice', 'dtls', 'rtp', 'srtp', 'rtcp'] as types.WorkerLogTag[] } : {}),
      rtcMinPort: this.opts.rtcMinPort,
      rtcMaxPort: this.opts.rtcMaxPort,
      appData: { index },
    });
    this.load.set(worker, 0);
    worker.on('died', (err) => {
      this.log.error({ err, workerPid: worker.pid, index }, 'mediasoup worker died; replacing it');
      const at = this.workers.indexOf(worker);
      if (at >= 0) this.workers.splice(at, 1);
      if (this.closed) return;
      setTimeout(() => {
        if (this.closed) return;
        this.spawn(index).then(
          (w) => (this.closed ? w.close() : this.workers.push(w)),
          (e) => this.log.error({ err: e, index }, 'could not replace mediasoup worker'),
        );
      }, 1000).unref();
    });
    return worker;
  }
}
