// A publisher's WHIP session: its transport and one Producer per accepted m-section. Watches the
// incoming byte count to say when media first arrives (the stream goes live) and when it stops for
// longer than the publisher timeout (the stream ends). Owns its producers through its transport.
import type { types } from 'mediasoup';
import { MediaError } from './media-error.js';
import { buildAnswer, type AnswerSection } from './sdp/answer.js';
import type { ParsedOffer } from './sdp/offer.js';
import { planProducer, type ProducerPlan } from './sdp/producer-plan.js';
import { createWebRtcTransport, RtcSession, type TransportSettings } from './rtc-session.js';
import { RtpActivityWatch } from './rtp-activity.js';

export interface IngestOptions extends TransportSettings {
  publisherTimeoutMs: number;
}

export class IngestSession extends RtcSession {
  readonly producers: types.Producer[] = [];
  answer = '';
  private mediaSeen = false;
  /** RTP only: ICE consent checks and RTCP keep arriving from a publisher whose media stopped. */
  private readonly activity: RtpActivityWatch;
  onFirstMedia: () => void = () => {};

  private constructor(transport: types.WebRtcTransport, offer: ParsedOffer, bundle: { mid: string; kind: string }[], opts: IngestOptions) {
    super(transport, offer, bundle, opts.publisherTimeoutMs);
    this.activity = new RtpActivityWatch(transport, opts.publisherTimeoutMs, {
      onFlow: () => void this.noticeFirstMedia(),
      onSilent: () => this.close('publisher_timeout'),
    });
    this.once('closed', () => this.activity.stop());
  }

  /** Validates the offer against the router before allocating anything, then builds the session. */
  static async open(router: types.Router, offer: ParsedOffer, opts: IngestOptions): Promise<IngestSession> {
    const sections: { m: ParsedOffer['media'][number]; plan?: ProducerPlan; reason?: string }[] = offer.media.map((m) => {
      const r = planProducer(m, router.rtpCapabilities);
      return r.ok ? { m, plan: r.plan } : { m, reason: r.reason };
    });
    const accepted = sections.filter((s) => s.plan);
    const refusedAv = sections.filter((s) => !s.plan && (s.m.type === 'audio' || s.m.type === 'video'));
    if (refusedAv.length || !accepted.length) {
      const why = (refusedAv.length ? refusedAv : sections).map((s) => s.reason).join('; ');
      throw new MediaError('unsupported_sdp', `the offer cannot be ingested: ${why}`);
    }
    const transport = await createWebRtcTransport(router, opts);
    const session = new IngestSession(
      transport,
      offer,
      accepted.map((s) => ({ mid: s.m.mid, kind: s.m.type })),
      opts,
    );
    try {
      const setup = await session.connectDtls();
      for (const s of accepted) {
        session.producers.push(await transport.produce({ kind: s.plan!.kind, rtpParameters: s.plan!.rtpParameters }));
      }
      const answerSections: AnswerSection[] = sections.map((s) =>
        s.plan
          ? {
              offered: s.m,
              accepted: true,
              direction: 'recvonly',
              codecs: s.plan.answerCodecs,
              extensions: s.plan.answerExtensions,
              recvRids: s.plan.rids,
            }
          : { offered: s.m, accepted: false },
      );
      session.answer = buildAnswer(transport, answerSections, setup);
      return session;
    } catch (err) {
      return session.failSetup(err);
    }
  }

  protected onConnected(): void {
    this.activity.touch();
  }

  private async noticeFirstMedia(): Promise<void> {
    if (this.mediaSeen || !(await this.producersHaveRtp())) return;
    this.mediaSeen = true;
    this.onFirstMedia();
  }

  private async producersHaveRtp(): Promise<boolean> {
    for (const p of this.producers) {
      const stats = await p.getStats().catch(() => []);
      if (stats.some((s) => s.byteCount > 0)) return true;
    }
    return false;
  }
}
