// Lets requests wait for a packager's state to change (a part arrived, the stream ended, it closed)
// without polling. The feed owns every waiter and its timer: each wait ends exactly once, by its
// condition, its timeout, its AbortSignal or close(), and leaves nothing behind.

export type WaitOutcome = 'ready' | 'timeout' | 'closed' | 'aborted';

interface Waiter {
  ready: () => boolean;
  finish: (o: WaitOutcome) => void;
}

export class ChangeFeed {
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<() => void>();
  private closed = false;

  /** Resolves when `ready()` holds (checked now and after every change), or on timeout/abort/close. */
  waitUntil(ready: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (this.closed) return Promise.resolve('closed');
    if (ready()) return Promise.resolve('ready');
    if (signal?.aborted) return Promise.resolve('aborted');
    return new Promise((resolve) => {
      const onAbort = () => w.finish('aborted');
      const timer = setTimeout(() => w.finish('timeout'), timeoutMs);
      const w: Waiter = {
        ready,
        finish: (o) => {
          if (!this.waiters.delete(w)) return;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(o);
        },
      };
      this.waiters.add(w);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Calls `listener` after every change until the returned function is called (or close()). */
  subscribe(listener: () => void): () => void {
    if (this.closed) return () => {};
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(): void {
    for (const w of [...this.waiters]) if (w.ready()) w.finish('ready');
    for (const l of [...this.listeners]) l();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.waiters]) w.finish('closed');
    const ls = [...this.listeners];
    this.listeners.clear();
    for (const l of ls) l();
  }

  get waiting(): number {
    return this.waiters.size;
  }
}
