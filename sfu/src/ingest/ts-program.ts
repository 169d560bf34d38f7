// Reads what an MPEG-TS contribution carries from its PAT and PMT (the first program), so an SRT
// stream's codec is checked before an encoder is spawned for it, and the encoder is told whether
// there is audio. Only the tables are read, never media. Assumes each table fits in one packet,
// which is what encoders send for one program.
const PACKET = 188;

export interface TsProgram {
  /** Stream types of the program's video and audio elementary streams (ISO 13818-1 table 2-34). */
  videoTypes: number[];
  audioTypes: number[];
}

const VIDEO_TYPES = new Set([0x01, 0x02, 0x10, 0x1b, 0x24, 0x33, 0xd1, 0xea]);
const AUDIO_TYPES = new Set([0x03, 0x04, 0x0f, 0x11, 0x81, 0x87]);

/** Finds the first program's streams in `data` (packets from its start); undefined until the PMT is seen. */
export function readTsProgram(data: Buffer): TsProgram | undefined {
  let pmtPid: number | undefined;
  for (let at = syncOffset(data); at >= 0 && at + PACKET <= data.length; at += PACKET) {
    if (data[at] !== 0x47) return undefined; // lost sync: not MPEG-TS
    const pid = ((data[at + 1]! & 0x1f) << 8) | data[at + 2]!;
    const unitStart = (data[at + 1]! & 0x40) !== 0;
    if (!unitStart || (pid !== 0 && pid !== pmtPid)) continue;
    const section = sectionOf(data.subarray(at, at + PACKET));
    if (!section) continue;
    if (pid === 0 && section[0] === 0x00) {
      const end = Math.min(section.length - 4, 3 + (((section[1]! & 0x0f) << 8) | section[2]!) - 4);
      for (let e = 8; e + 4 <= end; e += 4) {
        const program = section.readUInt16BE(e);
        if (program !== 0) {
          pmtPid = section.readUInt16BE(e + 2) & 0x1fff;
          break;
        }
      }
    } else if (pid === pmtPid && section[0] === 0x02) {
      const end = Math.min(section.length - 4, 3 + (((section[1]! & 0x0f) << 8) | section[2]!) - 4);
      const infoLength = section.readUInt16BE(10) & 0x0fff;
      const program: TsProgram = { videoTypes: [], audioTypes: [] };
      for (let e = 12 + infoLength; e + 5 <= end; ) {
        const type = section[e]!;
        const esInfo = section.readUInt16BE(e + 3) & 0x0fff;
        const descriptors = section.subarray(e + 5, e + 5 + esInfo);
        if (VIDEO_TYPES.has(type)) program.videoTypes.push(type);
        else if (AUDIO_TYPES.has(type) || (type === 0x06 && isAudioPrivate(descriptors))) program.audioTypes.push(type);
        e += 5 + esInfo;
      }
      return program;
    }
  }
  return undefined;
}

/** A name for a video stream type, for refusals. */
export function tsVideoCodecName(type: number): string {
  const names: Record<number, string> = { 27: 'H.264', 36: 'HEVC', 51: 'VVC', 2: 'MPEG-2', 1: 'MPEG-1', 16: 'MPEG-4 part 2' };
  return names[type] ?? `stream type 0x${type.toString(16)}`;
}

function syncOffset(data: Buffer): number {
  for (let i = 0; i < Math.min(PACKET, data.length); i++) {
    if (data[i] === 0x47 && (i + PACKET >= data.length || data[i + PACKET] === 0x47)) return i;
  }
  return -1;
}

function sectionOf(packet: Buffer): Buffer | undefined {
  const afc = (packet[3]! >> 4) & 0x3;
  let at = 4;
  if (afc === 2 || afc === 0) return undefined; // no payload
  if (afc === 3) at += 1 + packet[4]!;
  if (at >= PACKET) return undefined;
  at += 1 + packet[at]!; // pointer field
  return at < PACKET ? packet.subarray(at) : undefined;
}

/** Private-data streams that are audio: Opus ('Opus' registration), AC-3/E-AC-3 descriptors. */
function isAudioPrivate(descriptors: Buffer): boolean {
  for (let at = 0; at + 2 <= descriptors.length; at += 2 + descriptors[at + 1]!) {
    const tag = descriptors[at]!;
    if (tag === 0x6a || tag === 0x7a) return true;
    if (tag === 0x05 && descriptors.subarray(at + 2, at + 6).toString('latin1') === 'Opus') return true;
  }
  return false;
}
