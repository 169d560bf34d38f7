// Turns one m-section of a WHEP offer into the RtpCapabilities of the viewer, which mediasoup uses to
// pick the consumer's codec, payload types and header extension ids (so they match the offer).
import type { types } from 'mediasoup';
import type { MediaKind, OfferedMedia } from './offer.js';

export function viewerCapabilities(m: OfferedMedia): types.RtpCapabilities {
  const kind = m.type as MediaKind;
  return {
    codecs: m.codecs.map((c) => ({
      kind,
      mimeType: c.mimeType,
      preferredPayloadType: c.payloadType,
      clockRate: c.clockRate,
      ...(c.channels ? { channels: c.channels } : {}),
      parameters: c.parameters,
      rtcpFeedback: c.rtcpFeedback,
    })),
    headerExtensions: m.headerExtensions.map((e) => ({
      kind,
      uri: e.uri as types.RtpHeaderExtensionUri,
      preferredId: e.id,
      preferredEncrypt: false,
      direction: 'sendrecv' as const,
    })),
  };
}
