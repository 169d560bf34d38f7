// Splits ffmpeg's image2pipe MJPEG output into whole JPEG pictures (SOI ... EOI). ffmpeg's mjpeg
// encoder writes no embedded thumbnails, so the first EOI after an SOI ends the picture.

const SOI = Buffer.from([0xff, 0xd8]);
const EOI = Buffer.from([0xff, 0xd9]);
const MAX_PICTURE_BYTES = 4 * 1024 * 1024;

export class JpegSplitter {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onPicture: (jpeg: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      const start = this.pending.indexOf(SOI);
      if (start < 0) {
        this.pending = Buffer.alloc(0);
        return;
      }
      const end = this.pending.indexOf(EOI, start + 2);
      if (end < 0) {
        // Bound memory if a stream never ends a picture.
        this.pending = this.pending.length - start > MAX_PICTURE_BYTES ? Buffer.alloc(0) : this.pending.subarray(start);
        return;
      }
      this.onPicture(Buffer.from(this.pending.subarray(start, end + 2)));
      this.pending = this.pending.subarray(end + 2);
    }
  }
}
