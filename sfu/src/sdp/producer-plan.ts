// Turns one m-section of a WHIP offer into mediasoup Producer RtpParameters: the codec the router takes
// (in the offerer's preference order), its RTX, the feedback and header extensions both sides support,
// and the encodings (SSRC, or simulcast rids ordered lowest layer first as mediasoup expects).
import type { types } from 'mediasoup';
import { codecMatches, isRtx, rtxFor } from './codec-match.js';
import type { MediaKind, OfferedCodec, OfferedMedia } from './offer.js';

export interface ProducerPlan {
  kind: MediaKind;
  mid: string;
  rtpParameters: types.RtpParameters;
  /** What the answer repeats back: the chosen codec (and its RTX) and the accepted extensions. */
  answerCodecs: OfferedCodec[];
  answerExtensions: { id: number; uri: string }[];
  rids: string[];
}

export type PlanResult<T> = { ok: true; plan: T } | { ok: false; reason: string };

export function planProducer(m: OfferedMedia, caps: types.RtpCapabilities): PlanResult<ProducerPlan> {
  if (m.type !== 'audio' && m.type !== 'video') return { ok: false, reason: `${m.type} sections are not supported` };
  const kind: MediaKind = m.type;
  if (m.direction !== 'sendonly' && m.direction !== 'sendrecv') {
    return { ok: false, reason: `m-section ${m.mid} must be sendonly for ingest (it is ${m.direction})` };
  }
  const routerCodecs = (caps.codecs ?? []).filter((c) => c.kind === kind);
  let codec: OfferedCodec | undefined;
  let cap: types.RtpCodecCapability | undefined;
  for (const offered of m.codecs) {
    if (isRtx(offered)) continue;
    cap = routerCodecs.find((rc) => codecMatches(offered, rc));
    if (cap) {
      codec = offered;
      break;
    }
  }
  if (!codec || !cap) {
    const offered = [...new Set(m.codecs.filter((c) => !isRtx(c)).map((c) => c.mimeType.split('/')[1]))].join(', ') || 'none';
    const supported = [...new Set(routerCodecs.filter((c) => !c.mimeType.endsWith('/rtx')).map((c) => c.mimeType.split('/')[1]))].join(
      ', ',
    );
    return { ok: false, reason: `no supported ${kind} codec in m-section ${m.mid} (offered: ${offered}; supported: ${supported})` };
  }
  const rtx = kind === 'video' ? rtxFor(m.codecs, codec.payloadType) : undefined;
  const feedback = codec.rtcpFeedback.filter((fb) =>
    (cap!.rtcpFeedback ?? []).some((c) => c.type === fb.type && (c.parameter ?? '') === fb.parameter),
  );
  const extensions = m.headerExtensions.filter((e) =>
    (caps.headerExtensions ?? []).some((h) => h.kind === kind && h.uri === e.uri && h.direction !== 'sendonly'),
  );
  const codecs: types.RtpCodecParameters[] = [
    {
      mimeType: codec.mimeType,
      payloadType: codec.payloadType,
      clockRate: codec.clockRate,
      ...(codec.channels ? { channels: codec.channels } : {}),
      parameters: codec.parameters,
      rtcpFeedback: feedback,
    },
  ];
  if (rtx)
    codecs.push({ mimeType: rtx.mimeType, payloadType: rtx.payloadType, clockRate: rtx.clockRate, parameters: { apt: codec.payloadType } });

  const rids = kind === 'video' && m.rids.length > 1 ? orderLowToHigh(m.rids) : [];
  const encodings: types.RtpEncodingParameters[] = rids.length
    ? rids.map((rid) => ({ rid }))
    : m.ssrc
      ? [{ ssrc: m.ssrc, ...(rtx && m.rtxSsrc ? { rtx: { ssrc: m.rtxSsrc } } : {}) }]
      : m.rids.length === 1
        ? [{ rid: m.rids[0]! }]
        : [{}]; // matched by the MID header extension
  return {
    ok: true,
    plan: {
      kind,
      mid: m.mid,
      rtpParameters: {
        mid: m.mid,
        codecs,
        headerExtensions: extensions.map((e) => ({ uri: e.uri as types.RtpHeaderExtensionUri, id: e.id })),
        encodings,
        rtcp: { ...(m.cname ? { cname: m.cname } : {}), reducedSize: m.rtcpRsize },
      },
      answerCodecs: rtx ? [codec, rtx] : [codec],
      answerExtensions: extensions,
      rids: m.rids.length > 1 ? m.rids : [],
    },
  };
}

// mediasoup treats encodings[0] as the lowest spatial layer. SDP carries no resolutions, so we rely
// on the rid names publishers use (l/m/h, q/h/f, low/mid/high, 0/1/2) and otherwise keep the
// offer's order, which WebRTC clients conventionally list lowest first.
const KNOWN_ORDERS = [
  ['l', 'm', 'h'],
  ['q', 'h', 'f'],
  ['low', 'mid', 'high'],
  ['0', '1', '2'],
];
export function orderLowToHigh(rids: string[]): string[] {
  const order = KNOWN_ORDERS.find((o) => rids.every((r) => o.includes(r)));
  return order ? [...rids].sort((a, b) => order.indexOf(a) - order.indexOf(b)) : rids;
}
