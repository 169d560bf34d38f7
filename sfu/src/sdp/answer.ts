// Writes the SDP answer for a WHIP (we receive) or WHEP (we send) session from the mediasoup
// transport's ICE/DTLS parameters and, per m-section, what was accepted. mediasoup is ICE-lite and
// gathers no candidates over time, so the answer carries all candidates and end-of-candidates.
import sdpTransform from 'sdp-transform';
import type { types } from 'mediasoup';
import type { OfferedCodec, OfferedMedia } from './offer.js';

export interface TransportFacts {
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
}

export type AnswerSection =
  | { offered: OfferedMedia; accepted: false }
  | {
      offered: OfferedMedia;
      accepted: true;
      direction: 'recvonly' | 'sendonly';
      codecs: OfferedCodec[] | types.RtpCodecParameters[];
      extensions: { id: number; uri: string }[];
      /** WHIP simulcast: rids we receive. */
      recvRids?: string[];
      /** WHEP: the SSRCs we send, with a cname and msid for the browser's MediaStream. */
      send?: { ssrc: number; rtxSsrc?: number; cname: string; streamId: string; trackId: string };
    };

let sessionVersion = 1;

export function buildAnswer(transport: TransportFacts, sections: AnswerSection[], setup: 'active' | 'passive' = 'passive'): string {
  const fingerprint =
    transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? transport.dtlsParameters.fingerprints[0]!;
  const bundled = sections.filter((s) => s.accepted).map((s) => s.offered.mid);
  const session: sdpTransform.SessionDescription = {
    version: 0,
    origin: { username: '-', sessionId: Date.now(), sessionVersion: sessionVersion++, netType: 'IN', ipVer: 4, address: '127.0.0.1' },
    name: '-',
    timing: { start: 0, stop: 0 },
    icelite: 'ice-lite',
    fingerprint: { type: fingerprint.algorithm, hash: fingerprint.value },
    msidSemantic: { semantic: 'WMS', token: '*' },
    groups: bundled.length ? [{ type: 'BUNDLE', mids: bundled.join(' ') }] : [],
    media: sections.map((s) => mediaSection(transport, s, setup)),
  } as sdpTransform.SessionDescription;
  return sdpTransform.write(session);
}

function mediaSection(t: TransportFacts, s: AnswerSection, setup: 'active' | 'passive'): sdpTransform.MediaDescription {
  const m = s.offered;
  if (!s.accepted) {
    const pts = m.codecs.map((c) => c.payloadType);
    return {
      type: m.type,
      port: 0,
      protocol: 'UDP/TLS/RTP/SAVPF',
      payloads: pts.length ? pts.join(' ') : '0',
      connection: { version: 4, ip: '0.0.0.0' },
      mid: m.mid,
      direction: 'inactive',
      rtp: m.codecs.map(rtpOf),
      fmtp: [],
    } as unknown as sdpTransform.MediaDescription;
  }
  const codecs = s.codecs.map(normalise);
  const media: sdpTransform.MediaDescription = {
    type: m.type,
    port: 9,
    protocol: 'UDP/TLS/RTP/SAVPF',
    payloads: codecs.map((c) => c.payloadType).join(' '),
    connection: { version: 4, ip: '0.0.0.0' },
    mid: m.mid,
    direction: s.direction,
    iceUfrag: t.iceParameters.usernameFragment,
    icePwd: t.iceParameters.password,
    setup,
    rtcpMux: 'rtcp-mux',
    ...(m.rtcpRsize ? { rtcpRsize: 'rtcp-rsize' } : {}),
    candidates: t.iceCandidates.map((c) => ({
      foundation: c.foundation,
      component: 1,
      transport: c.protocol,
      priority: c.priority,
      ip: c.ip,
      port: c.port,
      type: c.type,
      ...(c.tcpType ? { tcptype: c.tcpType } : {}),
    })),
    endOfCandidates: 'end-of-candidates',
    rtp: codecs.map(rtpOf),
    fmtp: codecs
      .filter((c) => Object.keys(c.parameters).length)
      .map((c) => ({
        payload: c.payloadType,
        config: Object.entries(c.parameters)
          .map(([k, v]) => `${k}=${v}`)
          .join(';'),
      })),
    rtcpFb: codecs.flatMap((c) =>
      c.rtcpFeedback.map((fb) => ({ payload: c.payloadType, type: fb.type, ...(fb.parameter ? { subtype: fb.parameter } : {}) })),
    ),
    ext: s.extensions.map((e) => ({ value: e.id, uri: e.uri })),
  } as sdpTransform.MediaDescription;
  if (s.recvRids?.length) {
    media.rids = s.recvRids.map((id) => ({ id, direction: 'recv' }));
    media.simulcast = { dir1: 'recv', list1: s.recvRids.join(';') };
  }
  if (s.send) {
    const { ssrc, rtxSsrc, cname, streamId, trackId } = s.send;
    media.msid = [{ id: streamId, appdata: trackId }];
    media.ssrcs = [
      { id: ssrc, attribute: 'cname', value: cname },
      { id: ssrc, attribute: 'msid', value: `${streamId} ${trackId}` },
      ...(rtxSsrc
        ? [
            { id: rtxSsrc, attribute: 'cname', value: cname },
            { id: rtxSsrc, attribute: 'msid', value: `${streamId} ${trackId}` },
          ]
        : []),
    ];
    if (rtxSsrc) media.ssrcGroups = [{ semantics: 'FID', ssrcs: `${ssrc} ${rtxSsrc}` }];
  }
  return media;
}

interface NormalCodec {
  payloadType: number;
  mimeType: string;
  clockRate: number;
  channels?: number;
  parameters: Record<string, unknown>;
  rtcpFeedback: { type: string; parameter?: string }[];
}

function normalise(c: OfferedCodec | types.RtpCodecParameters): NormalCodec {
  return {
    payloadType: c.payloadType,
    mimeType: c.mimeType,
    clockRate: c.clockRate,
    ...(c.channels ? { channels: c.channels } : {}),
    parameters: (c.parameters ?? {}) as Record<string, unknown>,
    rtcpFeedback: (c.rtcpFeedback ?? []).map((f) => ({ type: f.type, parameter: f.parameter ?? '' })),
  };
}

function rtpOf(c: { payloadType: number; mimeType: string; clockRate: number; channels?: number }) {
  return {
    payload: c.payloadType,
    codec: c.mimeType.split('/')[1]!,
    rate: c.clockRate,
    ...(c.channels && c.channels > 1 ? { encoding: c.channels } : {}),
  };
}
