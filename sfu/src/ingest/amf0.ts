// AMF0, the value encoding of RTMP commands (connect, createStream, publish, onStatus): decodes the
// types encoders send and encodes the few our replies need. Bad input is an error value thrown as
// Amf0Error, never a crash: the listener closes the connection that sent it.
export type Amf0Value = number | boolean | string | null | undefined | Date | Amf0Value[] | { [key: string]: Amf0Value };

export class Amf0Error extends Error {
  readonly code = 'bad_amf0';
}

/** Deeper nesting than any encoder sends: a hostile peer cannot recurse us into a stack overflow. */
const MAX_DEPTH = 16;

export function decodeAmf0(buf: Buffer): Amf0Value[] {
  const values: Amf0Value[] = [];
  let at = 0;
  const need = (n: number) => {
    if (at + n > buf.length) throw new Amf0Error('AMF0 value runs past the end of the message');
  };
  const str = (long: boolean): string => {
    need(long ? 4 : 2);
    const len = long ? buf.readUInt32BE(at) : buf.readUInt16BE(at);
    at += long ? 4 : 2;
    need(len);
    const s = buf.toString('utf8', at, at + len);
    at += len;
    return s;
  };
  const props = (depth: number): Record<string, Amf0Value> => {
    const o: Record<string, Amf0Value> = Object.create(null) as Record<string, Amf0Value>;
    for (;;) {
      const key = str(false);
      need(1);
      if (key === '' && buf[at] === 0x09) {
        at++;
        return o;
      }
      o[key] = value(depth + 1);
    }
  };
  const value = (depth: number): Amf0Value => {
    if (depth > MAX_DEPTH) throw new Amf0Error('AMF0 nesting too deep');
    need(1);
    const marker = buf[at++]!;
    switch (marker) {
      case 0x00:
        need(8);
        at += 8;
        return buf.readDoubleBE(at - 8);
      case 0x01:
        need(1);
        return buf[at++] !== 0;
      case 0x02:
        return str(false);
      case 0x03:
        return props(depth);
      case 0x05:
        return null;
      case 0x06:
        return undefined;
      case 0x08:
        need(4);
        at += 4; // ECMA array: an approximate count, then properties as an object
        return props(depth);
      case 0x0a: {
        need(4);
        const n = buf.readUInt32BE(at);
        at += 4;
        if (n > buf.length - at) throw new Amf0Error('AMF0 strict array longer than the message');
        const arr: Amf0Value[] = [];
        for (let i = 0; i < n; i++) arr.push(value(depth + 1));
        return arr;
      }
      case 0x0b: {
        need(10);
        const d = new Date(buf.readDoubleBE(at));
        at += 10;
        return d;
      }
      case 0x0c:
        return str(true);
      default:
        throw new Amf0Error(`unsupported AMF0 marker 0x${marker.toString(16)}`);
    }
  };
  while (at < buf.length) values.push(value(0));
  return values;
}

export function encodeAmf0(...values: Amf0Value[]): Buffer {
  const parts: Buffer[] = [];
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(2);
    h.writeUInt16BE(b.length);
    parts.push(h, b);
  };
  const value = (v: Amf0Value) => {
    if (typeof v === 'number') {
      const b = Buffer.alloc(9);
      b[0] = 0x00;
      b.writeDoubleBE(v, 1);
      parts.push(b);
    } else if (typeof v === 'boolean') parts.push(Buffer.from([0x01, v ? 1 : 0]));
    else if (typeof v === 'string') {
      parts.push(Buffer.from([0x02]));
      str(v);
    } else if (v === null) parts.push(Buffer.from([0x05]));
    else if (v === undefined) parts.push(Buffer.from([0x06]));
    else if (v instanceof Date) {
      const b = Buffer.alloc(11);
      b[0] = 0x0b;
      b.writeDoubleBE(v.getTime(), 1);
      parts.push(b);
    } else if (Array.isArray(v)) {
      const h = Buffer.alloc(5);
      h[0] = 0x0a;
      h.writeUInt32BE(v.length, 1);
      parts.push(h);
      for (const x of v) value(x);
    } else {
      parts.push(Buffer.from([0x03]));
      for (const [k, x] of Object.entries(v)) {
        str(k);
        value(x);
      }
      parts.push(Buffer.from([0x00, 0x00, 0x09]));
    }
  };
  for (const v of values) value(v);
  return Buffer.concat(parts);
}
