// A typed list of callbacks: `add` returns the function that removes the callback again. Used for the
// SDK's events so a caller never touches the underlying RTCPeerConnection's handlers.

export class Listeners<Args extends unknown[]> {
  private readonly fns = new Set<(...args: Args) => void>();

  add(fn: (...args: Args) => void): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }

  emit(...args: Args): void {
    for (const fn of [...this.fns]) {
      try {
        fn(...args);
      } catch (err) {
        // One broken listener must not stop the others or the SDK's own bookkeeping.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  clear(): void {
    this.fns.clear();
  }
}
