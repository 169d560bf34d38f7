// Parses and validates a WHIP/WHEP SDP offer into the facts the SFU needs. Malformed input becomes an
// MediaError (bad_sdp) with a message naming what is wrong; it never throws anything else.
import sdpTransform from 'sdp-transform';
import { MediaError } from '../media-error.js';

export type MediaKind = 'audio' | 'video';
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface OfferedCodec {
  payloadType: number;
  mimeType: string; // e.g. "video/H264"
  clockRate: number;
  channels?: number;
  parameters: Record<string, string | number>;
  rtcpFeedback: { type: string; parameter: string }[];
}

export interface OfferedMedia {
  index: number;
  /** 'audio' | 'video', or another m-line type (application, ...) that OnAir rejects. */
  type: string;
  mid: string;
  direction: Direction;
  codecs: OfferedCodec[];
  headerExtensions: { id: number; uri: string }[];
  /** Primary SSRC and its RTX SSRC (from a=ssrc-group:FID), when the offer signals them. */
  ssrc?: number;
  rtxSsrc?: number;
  cname?: string;
  /** Simulcast send rids in the order the offer lists them. */
  rids: string[];
  rtcpRsize: boolean;
}

export interface ParsedOffer {
  iceUfrag: string;
  icePwd: string;
  fingerprint: { algorithm: string; value: string };
  setup: 'actpass' | 'active' | 'passive';
  media: OfferedMedia[];
}

export const badSdp = (message: string) => new MediaError('bad_sdp', message);

const SDP_MAX_BYTES = 64 * 1024;

export function parseOffer(text: string): ParsedOffer {
  if (!text.trim()) throw badSdp('the SDP offer is empty');
  if (Buffer.byteLength(text) > SDP_MAX_BYTES) throw badSdp(`the SDP offer is larger than ${SDP_MAX_BYTES} bytes`);
  if (!/^v=0\r?\n/.test(text)) throw badSdp('not an SDP document: it must start with "v=0"');
  let sdp: sdpTransform.SessionDescription;
  try {
    sdp = sdpTransform.parse(text);
  } catch (err) {
    throw badSdp(`the SDP offer cannot be parsed: ${(err as Error).message}`);
  }
  if (!sdp.media?.length) throw badSdp('the SDP offer has no media sections (m= lines)');

  const first = sdp.media[0]!;
  const iceUfrag = str(first.iceUfrag ?? sdp.iceUfrag);
  const icePwd = str(first.icePwd ?? sdp.icePwd);
  const fp = first.fingerprint ?? sdp.fingerprint;
  const setup = (first.setup ?? sdp.setup ?? 'actpass') as ParsedOffer['setup'];
  if (!iceUfrag || !icePwd) throw badSdp('the SDP offer has no a=ice-ufrag / a=ice-pwd');
  if (!fp?.hash || !fp.type) throw badSdp('the SDP offer has no a=fingerprint (DTLS is required)');
  if (!['actpass', 'active', 'passive'].includes(setup)) throw badSdp(`unknown a=setup:${setup}`);

  const media = sdp.media.map((m, index): OfferedMedia => {
    const mid = m.mid !== undefined ? String(m.mid) : '';
    if (!mid) throw badSdp(`m-section ${index} (${m.type}) has no a=mid; BUNDLE needs one on every section`);
    if ((m.type === 'audio' || m.type === 'video') && !/RTP\/S?AVPF?/.test(m.protocol)) {
      throw badSdp(`m-section ${mid} uses protocol ${m.protocol}; expected UDP/TLS/RTP/SAVPF`);
    }
    return {
      index,
      type: m.type,
      mid,
      direction: (m.direction ?? 'sendrecv') as Direction,
      codecs: codecsOf(m),
      headerExtensions: (m.ext ?? []).map((e) => ({ id: e.value, uri: e.uri })),
      ...ssrcsOf(m),
      rids: simulcastRids(m),
      rtcpRsize: Boolean(m.rtcpRsize),
    };
  });
  return {
    iceUfrag,
    icePwd,
    fingerprint: { algorithm: fp.type.toLowerCase(), value: fp.hash },
    setup,
    media,
  };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined ? '' : String(v);
}

function codecsOf(m: sdpTransform.MediaDescription): OfferedCodec[] {
  const byPt = new Map<number, OfferedCodec>();
  for (const r of m.rtp ?? []) {
    byPt.set(r.payload, {
      payloadType: r.payload,
      mimeType: `${m.type}/${r.codec}`,
      clockRate: r.rate ?? 90000,
      ...(m.type === 'audio' ? { channels: Number(r.encoding ?? 1) } : {}),
      parameters: {},
      rtcpFeedback: [],
    });
  }
  for (const f of m.fmtp ?? []) {
    const c = byPt.get(f.payload);
    if (c) c.parameters = sdpTransform.parseParams(f.config) as Record<string, string | number>;
  }
  for (const fb of m.rtcpFb ?? []) {
    const targets = String(fb.payload) === '*' ? [...byPt.values()] : [byPt.get(Number(fb.payload))];
    for (const c of targets) c?.rtcpFeedback.push({ type: fb.type, parameter: fb.subtype ?? '' });
  }
  // Keep the offerer's preference order (the m= line's payload list).
  const order = String(m.payloads ?? '')
    .split(' ')
    .map(Number);
  return order.map((pt) => byPt.get(pt)).filter((c): c is OfferedCodec => c !== undefined);
}

function ssrcsOf(m: sdpTransform.MediaDescription): Pick<OfferedMedia, 'ssrc' | 'rtxSsrc' | 'cname'> {
  const ssrcs = m.ssrcs ?? [];
  if (!ssrcs.length) return {};
  const fid = (m.ssrcGroups ?? []).find((g) => g.semantics === 'FID');
  const [primary, rtx] = fid ? fid.ssrcs.split(' ').map(Number) : [Number(ssrcs[0]!.id), undefined];
  const cname = ssrcs.find((s) => s.attribute === 'cname' && Number(s.id) === primary)?.value;
  return { ssrc: primary, ...(rtx ? { rtxSsrc: rtx } : {}), ...(cname ? { cname } : {}) };
}

function simulcastRids(m: sdpTransform.MediaDescription): string[] {
  const sendRids = (m.rids ?? []).filter((r) => r.direction === 'send').map((r) => String(r.id));
  if (!sendRids.length || !m.simulcast) return [];
  // a=simulcast:send h;m;l (alternatives after ',' are ignored; '~' marks a paused rid)
  const list = m.simulcast.dir1 === 'send' ? m.simulcast.list1 : m.simulcast.dir2 === 'send' ? m.simulcast.list2 : undefined;
  if (!list) return [];
  return String(list)
    .split(';')
    .map((alt) => alt.split(',')[0]!.replace(/^~/, ''))
    .filter((r) => sendRids.includes(r));
}
