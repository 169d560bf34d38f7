// Cuts a byte stream with arbitrary chunk boundaries (ffmpeg's pipe) into whole top-level MP4 boxes.
// It owns only its pending bytes; it never interprets box contents. A box header it cannot accept
// (size 0 "to end of file", smaller than its header, or larger than the cap) is returned as an error
// and the stream must be reset: after that, byte framing is lost.

export type BoxStreamEvent = { type: string; box: Buffer } | { error: string };

export class BoxStream {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxBoxBytes = 64 * 1024 * 1024) {}

  /** Appends bytes and returns every box they complete, in order. */
  push(chunk: Buffer): BoxStreamEvent[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: BoxStreamEvent[] = [];
    while (this.buffered >= 8) {
      const head = this.peek(16);
      let size = head.readUInt32BE(0);
      let header = 8;
      if (size === 1) {
        if (this.buffered < 16) break;
        size = Number(head.readBigUInt64BE(8));
        header = 16;
      }
      if (size < header || size > this.maxBoxBytes) {
        out.push({ error: `unacceptable box size ${size} for ${head.toString('latin1', 4, 8)}` });
        this.reset();
        break;
      }
      if (this.buffered < size) break;
      const box = this.take(size);
      out.push({ type: box.toString('latin1', 4, 8), box });
    }
    return out;
  }

  get pendingBytes(): number {
    return this.buffered;
  }

  reset(): void {
    this.chunks = [];
    this.buffered = 0;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n || this.chunks.length === 1) return first;
    // only as many chunks as the header needs: a pipe read can be a single byte
    const head: Buffer[] = [];
    let have = 0;
    for (const c of this.chunks) {
      if (have >= n) break;
      head.push(c);
      have += c.length;
    }
    return Buffer.concat(head);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let box: Buffer;
    if (first.length >= n) {
      // copy so a part does not pin ffmpeg's whole read buffer in memory
      box = Buffer.from(first.subarray(0, n));
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks, this.buffered);
      box = Buffer.from(all.subarray(0, n));
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return box;
  }
}
