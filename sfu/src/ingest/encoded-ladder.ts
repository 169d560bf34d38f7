// The HLS/DASH renditions of a re-encoded RTMP or SRT contribution, as its contribution encoder
// writes them: the same H.264 layers it sends to WebRTC viewers, remuxed (not re-encoded) into one
// fragmented-MP4/CMAF byte stream per layer, AAC audio from the same decode, and poster JPEGs. The
// HLS ladder of the stream reads them here instead of decoding the top layer and encoding three
// renditions again (a single decode per input). Owned by the stream's RtpIngestSession; holds only
// the current encoder generation's init segments (a ladder that starts after the encoder still
// gets them) and its listeners; it never spawns, parses media or touches a socket. Box framing is
// the one thing it reads: listeners receive whole top-level boxes, so a late one starts at a box.

/** One CMAF output of the contribution encoder. */
export interface EncodedTrack {
  kind: 'video' | 'audio';
  /** Bits per second at most (a video layer's cap; the audio encoder's rate). */
  bitrate: number;
}

export interface EncodedLadderListener {
  /** A new encoder took over (the publisher reconnected): the boxes that follow are a new timeline. */
  restart(): void;
  /** A whole top-level box (ftyp, moov, moof, mdat, ...) of `track`. */
  box(track: number, box: Buffer): void;
  /** Bytes of the poster stream (MJPEG pictures, arbitrary chunk boundaries). */
  poster(chunk: Buffer): void;
}

const MAX_BOX_BYTES = 64 * 1024 * 1024;

/** Cuts a byte stream into whole top-level MP4 boxes; undefined from push() once the framing is lost. */
class BoxSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private broken = false;

  push(chunk: Buffer): Buffer[] | undefined {
    if (this.broken) return undefined;
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const boxes: Buffer[] = [];
    while (this.pending.length >= 8) {
      let size = this.pending.readUInt32BE(0);
      let header = 8;
      if (size === 1) {
        if (this.pending.length < 16) break;
        size = Number(this.pending.readBigUInt64BE(8));
        header = 16;
      }
      if (size < header || size > MAX_BOX_BYTES) {
        this.broken = true;
        this.pending = Buffer.alloc(0);
        return undefined;
      }
      if (this.pending.length < size) break;
      boxes.push(Buffer.from(this.pending.subarray(0, size)));
      this.pending = this.pending.subarray(size);
    }
    return boxes;
  }
}

export class EncodedLadder {
  /** Video layers highest first, then audio when the contribution has it; fixed per generation. */
  tracks: EncodedTrack[] = [];
  private generation = 0;
  private splitters: BoxSplitter[] = [];
  /** The current generation's ftyp+moov per track (as boxes), once written. */
  private inits: Buffer[][] = [];
  private readonly listeners = new Set<EncodedLadderListener>();

  /** Whether an encoder writes renditions here (false: HLS is off, or no encoder started yet). */
  get active(): boolean {
    return this.generation > 0;
  }

  /** A new encoder starts writing `tracks`; listeners of an earlier one are told to restart. */
  begin(tracks: EncodedTrack[]): void {
    const restart = this.generation > 0;
    this.generation++;
    this.tracks = tracks.map((t) => ({ ...t }));
    this.splitters = tracks.map(() => new BoxSplitter());
    this.inits = tracks.map(() => []);
    if (restart) for (const l of this.listeners) l.restart();
  }

  /** Bytes of track `track`'s CMAF output, as read from the encoder's pipe. */
  write(track: number, chunk: Buffer): void {
    const boxes = this.splitters[track]?.push(chunk);
    if (!boxes) return;
    const init = this.inits[track]!;
    for (const box of boxes) {
      const type = box.toString('latin1', 4, 8);
      if (type === 'ftyp') init.length = 0;
      if (type === 'ftyp' || (type === 'moov' && init.length === 1)) init.push(box);
      for (const l of this.listeners) l.box(track, box);
    }
  }

  poster(chunk: Buffer): void {
    for (const l of this.listeners) l.poster(chunk);
  }

  /** True once every track of the current generation has written its init segment. */
  get initialised(): boolean {
    return this.active && this.inits.every((i) => i.length === 2);
  }

  /** The init segment (ftyp+moov) of each track of the current generation; undefined where not yet written. */
  initSegments(): (Buffer | undefined)[] {
    return this.inits.map((i) => (i.length === 2 ? Buffer.concat(i) : undefined));
  }

  /** Boxes from now on; the caller takes the init segments from initSegments(). Returns the unsubscribe. */
  subscribe(listener: EncodedLadderListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The stream ended: listeners are dropped. */
  close(): void {
    this.listeners.clear();
  }
}
