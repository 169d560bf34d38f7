// A viewer's WHEP session: its transport and one Consumer per producer of the stream it watches.
// Consumers start paused and are resumed (with a key frame request to the publisher) once DTLS is up,
// so the first picture arrives without waiting for the next periodic key frame. With simulcast,
// mediasoup's SimulcastConsumer follows the viewer's bandwidth estimate (transport-cc/REMB).
import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import { MediaError } from './media-error.js';
import { buildAnswer, type AnswerSection } from './sdp/answer.js';
import { viewerCapabilities } from './sdp/consumer-caps.js';
import type { ParsedOffer } from './sdp/offer.js';
import { createWebRtcTransport, RtcSession, type TransportSettings } from './rtc-session.js';
import { inViewerNumbering } from './viewer-numbering.js';

export class ViewerSession extends RtcSession {
  readonly consumers: types.Consumer[] = [];
  answer = '';
  /** The player's client id (the SDK's, shared with its chat socket), when it sent one. */
  clientId: string | undefined;

  /** Who this player is for viewer counts: its client id, else this session. */
  get playerId(): string {
    return this.clientId ?? `session:${this.id}`;
  }

  static async open(
    router: types.Router,
    producers: types.Producer[],
    offer: ParsedOffer,
    opts: TransportSettings & { connectTimeoutMs: number },
  ): Promise<ViewerSession> {
    const plans = offer.media.map((m) => {
      const producer = producers.find((p) => p.kind === m.type);
      const wantsMedia = m.direction === 'recvonly' || m.direction === 'sendrecv';
      const caps = viewerCapabilities(m);
      const canConsume = !!producer && wantsMedia && router.canConsume({ producerId: producer.id, rtpCapabilities: caps });
      return { m, producer: canConsume ? producer : undefined, caps };
    });
    if (!plans.some((p) => p.producer)) {
      const kinds = producers.map((p) => `${p.kind} (${p.rtpParameters.codecs[0]?.mimeType})`).join(', ');
      throw new MediaError(
        'unsupported_sdp',
        `the offer can receive none of this stream's media: ${kinds}; offer recvonly sections with a matching codec`,
      );
    }
    const accepted = plans.filter((p) => p.producer);
    const transport = await createWebRtcTransport(router, opts);
    const session = new ViewerSession(
      transport,
      offer,
      accepted.map((p) => ({ mid: p.m.mid, kind: p.m.type })),
      opts.connectTimeoutMs,
    );
    try {
      const setup = await session.connectDtls();
      const streamId = randomUUID();
      const sections: AnswerSection[] = [];
      for (const p of plans) {
        if (!p.producer) {
          sections.push({ offered: p.m, accepted: false });
          continue;
        }
        const consumer = await transport.consume({ producerId: p.producer.id, rtpCapabilities: p.caps, paused: true, mid: p.m.mid });
        session.consumers.push(consumer);
        const enc = consumer.rtpParameters.encodings?.[0];
        const numbering = inViewerNumbering(consumer.rtpParameters);
        sections.push({
          offered: p.m,
          accepted: true,
          direction: 'sendonly',
          codecs: numbering.codecs,
          extensions: numbering.extensions,
          send: {
            ssrc: enc!.ssrc!,
            ...(enc?.rtx?.ssrc ? { rtxSsrc: enc.rtx.ssrc } : {}),
            cname: consumer.rtpParameters.rtcp?.cname ?? 'onair',
            streamId,
            trackId: consumer.id,
          },
        });
      }
      session.answer = buildAnswer(transport, sections, setup);
      return session;
    } catch (err) {
      return session.failSetup(err);
    }
  }

  protected onConnected(): void {
    for (const c of this.consumers) {
      if (c.closed) continue;
      c.resume()
        .then(() => (c.kind === 'video' ? c.requestKeyFrame() : undefined))
        .catch(() => {}); // the consumer closed meanwhile
    }
  }
}
