// The wall-clock timecode that the glass-to-glass bench paints into every source frame and reads back
// from every decoded frame: 48 bits of Date.now() (ms) and a CRC-16 over them, as an 8x8 grid of black
// and white cells big enough (1/9 of the picture height) to survive any video encoder at any bitrate
// and a downscale by 4. A frame whose cells do not pass the CRC (a blend of two frames, a decoding
// glitch) is rejected, never misread. Runs in the browser (a 2D canvas) and in Node, where
// paintTimecodeGray draws the same grid into raw frames for an ffmpeg encoder (the RTMP/SRT bench).

export const FRAME_WIDTH = 640;
export const FRAME_HEIGHT = 360;
const CELLS = 8;
const CELL = 40;
const GRID_X = (FRAME_WIDTH - CELLS * CELL) / 2;
const GRID_Y = (FRAME_HEIGHT - CELLS * CELL) / 2;
/** Side of the square sampled at the centre of a cell when decoding, away from ringing at its edges. */
const SAMPLE = 16;

/** CRC-16/CCITT-FALSE over bytes. */
function crc16(bytes: readonly number[]): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function timeBytes(ms: number): number[] {
  const hi = Math.floor(ms / 2 ** 32);
  const lo = ms >>> 0;
  return [(hi >> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >> 16) & 0xff, (lo >> 8) & 0xff, lo & 0xff];
}

/** The 64 bits painted for a time: 48 of milliseconds, then 16 of CRC, most significant first. */
export function encodeBits(ms: number): boolean[] {
  const bytes = timeBytes(ms);
  const crc = crc16(bytes);
  const all = [...bytes, crc >> 8, crc & 0xff];
  return all.flatMap((byte) => Array.from({ length: 8 }, (_, i) => ((byte >> (7 - i)) & 1) === 1));
}

export function decodeBits(bits: readonly boolean[]): number | undefined {
  const bytes: number[] = [];
  for (let b = 0; b < 8; b++) {
    let v = 0;
    for (let i = 0; i < 8; i++) v = (v << 1) | (bits[b * 8 + i] ? 1 : 0);
    bytes.push(v);
  }
  const data = bytes.slice(0, 6);
  if (crc16(data) !== ((bytes[6]! << 8) | bytes[7]!)) return undefined;
  return ((data[0]! << 8) | data[1]!) * 2 ** 32 + ((data[2]! << 24) >>> 0) + ((data[3]! << 16) | (data[4]! << 8) | data[5]!);
}

/** Paints the timecode grid (with a grey quiet zone around it) onto a FRAME_WIDTH x FRAME_HEIGHT canvas. */
export function paintTimecode(ctx: CanvasRenderingContext2D, ms: number): void {
  ctx.fillStyle = '#808080';
  ctx.fillRect(GRID_X - 8, GRID_Y - 8, CELLS * CELL + 16, CELLS * CELL + 16);
  encodeBits(ms).forEach((on, i) => {
    ctx.fillStyle = on ? '#ffffff' : '#000000';
    ctx.fillRect(GRID_X + (i % CELLS) * CELL, GRID_Y + Math.floor(i / CELLS) * CELL, CELL, CELL);
  });
}

/**
 * Paints the same grid (and quiet zone) into a FRAME_WIDTH x FRAME_HEIGHT 8-bit grey frame
 * (ffmpeg's `-pix_fmt gray` rawvideo), for an encoder fed raw frames rather than a canvas.
 */
export function paintTimecodeGray(frame: Uint8Array, ms: number): void {
  const fill = (x0: number, y0: number, w: number, h: number, v: number) => {
    for (let y = y0; y < y0 + h; y++) frame.fill(v, y * FRAME_WIDTH + x0, y * FRAME_WIDTH + x0 + w);
  };
  fill(GRID_X - 8, GRID_Y - 8, CELLS * CELL + 16, CELLS * CELL + 16, 0x80);
  encodeBits(ms).forEach((on, i) => fill(GRID_X + (i % CELLS) * CELL, GRID_Y + Math.floor(i / CELLS) * CELL, CELL, CELL, on ? 0xff : 0));
}

/** Reads the timecode from pixels of a frame drawn at FRAME_WIDTH x FRAME_HEIGHT; undefined if unreadable. */
export function readTimecode(pixels: ImageData): number | undefined {
  const bits: boolean[] = [];
  for (let i = 0; i < CELLS * CELLS; i++) {
    const x0 = GRID_X + (i % CELLS) * CELL + (CELL - SAMPLE) / 2;
    const y0 = GRID_Y + Math.floor(i / CELLS) * CELL + (CELL - SAMPLE) / 2;
    let sum = 0;
    for (let y = y0; y < y0 + SAMPLE; y++) {
      for (let x = x0; x < x0 + SAMPLE; x++) {
        const p = (y * pixels.width + x) * 4;
        sum += pixels.data[p]! + pixels.data[p + 1]! + pixels.data[p + 2]!;
      }
    }
    bits.push(sum / (SAMPLE * SAMPLE * 3) >= 128);
  }
  return decodeBits(bits);
}
