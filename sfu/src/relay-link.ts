// The two ends of a relay between OnAir nodes: a mediasoup PipeTransport carrying a stream's RTP over
// UDP (SRTP when the nodes are on different hosts, RTX/NACK for loss on the way). The upstream end
// (DownstreamLink, on the origin or a relay) consumes every producer of the stream; the downstream end
// (UpstreamLink, on the edge) re-creates them as producers with the same ids, kinds and parameters,
// so the edge's viewers consume them like a publisher's. Each link owns its transport and closes it
// exactly once. Negotiating the two ends (who asks whom, over what) is the caller's job, never done here.
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { newId } from './rtc-session.js';
import { RtpActivityWatch } from './rtp-activity.js';

/** Where one end of a link receives RTP, and (with SRTP) the key it sends with. */
export interface PipeEndpoint {
  ip: string;
  port: number;
  srtpParameters?: types.SrtpParameters;
}

/** What the downstream end needs to re-create one of the stream's producers. */
export interface RelayedProducer {
  id: string;
  kind: types.MediaKind;
  rtpParameters: types.RtpParameters;
}

export interface LinkSettings {
  listenIp: string;
  announcedAddress: string | undefined;
  enableSrtp: boolean;
}

async function createPipe(router: types.Router, s: LinkSettings): Promise<types.PipeTransport> {
  return router.createPipeTransport({
    listenInfo: { protocol: 'udp', ip: s.listenIp, ...(s.announcedAddress ? { announcedAddress: s.announcedAddress } : {}) },
    enableRtx: true,
    enableSrtp: s.enableSrtp,
  });
}

function endpointOf(t: types.PipeTransport): PipeEndpoint {
  return {
    ip: t.tuple.localIp, // the announced address when one is set
    port: t.tuple.localPort,
    ...(t.srtpParameters ? { srtpParameters: t.srtpParameters } : {}),
  };
}

abstract class Link extends EventEmitter<{ closed: [reason: string] }> {
  readonly id = newId();
  private _closed = false;

  protected constructor(readonly transport: types.PipeTransport) {
    super();
    transport.observer.once('close', () => this.close('transport_closed'));
  }

  get closed(): boolean {
    return this._closed;
  }

  get local(): PipeEndpoint {
    return endpointOf(this.transport);
  }

  close(reason: string): void {
    if (this._closed) return;
    this._closed = true;
    this.onClose();
    if (!this.transport.closed) this.transport.close();
    this.emit('closed', reason);
    this.removeAllListeners();
  }

  protected onClose(): void {}
}

/** Upstream end: sends the stream's producers to one downstream node. */
export class DownstreamLink extends Link {
  readonly consumers: types.Consumer[] = [];

  /** Connects to the downstream end and consumes every producer; the result goes back to the downstream node. */
  static async open(
    router: types.Router,
    producers: types.Producer[],
    remote: PipeEndpoint,
    settings: LinkSettings,
  ): Promise<{ link: DownstreamLink; producers: RelayedProducer[] }> {
    const link = new DownstreamLink(await createPipe(router, settings));
    try {
      await link.transport.connect(remote);
      const relayed: RelayedProducer[] = [];
      for (const p of producers) {
        const consumer = await link.transport.consume({ producerId: p.id });
        link.consumers.push(consumer);
        relayed.push({ id: p.id, kind: consumer.kind, rtpParameters: consumer.rtpParameters });
      }
      return { link, producers: relayed };
    } catch (err) {
      link.close('setup_failed');
      throw err;
    }
  }
}

/** Downstream end: the edge's copy of the stream's producers, fed from upstream over the pipe. */
export class UpstreamLink extends Link {
  readonly producers: types.Producer[] = [];
  private readonly activity: RtpActivityWatch;

  private constructor(transport: types.PipeTransport, silenceMs: number) {
    super(transport);
    // A pipe has no ICE consent: an upstream that vanished shows only as RTP that stopped coming.
    this.activity = new RtpActivityWatch(transport, silenceMs, { onFlow: () => {}, onSilent: () => this.close('upstream_silent') });
  }

  /** Allocates the local end first: its endpoint goes to the upstream node in the relay request. */
  static async create(router: types.Router, settings: LinkSettings, silenceMs: number): Promise<UpstreamLink> {
    return new UpstreamLink(await createPipe(router, settings), silenceMs);
  }

  /** Connects to the upstream end and re-creates its producers here. */
  async attach(remote: PipeEndpoint, producers: RelayedProducer[]): Promise<void> {
    await this.transport.connect(remote);
    for (const p of producers) {
      this.producers.push(await this.transport.produce({ id: p.id, kind: p.kind, rtpParameters: p.rtpParameters }));
    }
    this.activity.touch();
  }

  protected override onClose(): void {
    this.activity.stop();
  }
}
