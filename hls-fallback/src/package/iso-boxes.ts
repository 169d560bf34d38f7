// Reading ISO BMFF (MP4) boxes out of complete buffers: iterate children, find a path of boxes, read
// full-box version/flags. Pure functions over bytes; it never allocates copies of box payloads and
// never throws on truncated input (a box that overruns its parent ends the iteration).

export interface BoxRef {
  type: string;
  /** offset of the box header */
  start: number;
  /** offset of the payload (after size, type and any 64-bit size) */
  payload: number;
  /** offset just past the box */
  end: number;
}

/** The boxes directly inside [from, to) of buf. */
export function* childBoxes(buf: Buffer, from: number, to: number): Generator<BoxRef> {
  let at = from;
  while (at + 8 <= to) {
    let size = buf.readUInt32BE(at);
    let header = 8;
    if (size === 1) {
      if (at + 16 > to) return;
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) {
      size = to - at;
    }
    if (size < header || at + size > to) return;
    yield { type: buf.toString('latin1', at + 4, at + 8), start: at, payload: at + header, end: at + size };
    at += size;
  }
}

/** The first box reached by following `path` (e.g. ['trak', 'mdia', 'mdhd']) from inside `parent`. */
export function findBox(buf: Buffer, parent: { payload: number; end: number }, path: string[]): BoxRef | undefined {
  let scope: { payload: number; end: number } = parent;
  let found: BoxRef | undefined;
  for (const type of path) {
    found = undefined;
    for (const b of childBoxes(buf, scope.payload, scope.end)) {
      if (b.type === type) {
        found = b;
        break;
      }
    }
    if (!found) return undefined;
    scope = found;
  }
  return found;
}

export const wholeBuffer = (buf: Buffer) => ({ payload: 0, end: buf.length });

export const fullBoxVersion = (buf: Buffer, box: BoxRef) => buf[box.payload] ?? 0;
export const fullBoxFlags = (buf: Buffer, box: BoxRef) => buf.readUInt32BE(box.payload) & 0xffffff;
