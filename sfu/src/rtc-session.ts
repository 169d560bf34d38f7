// One WHIP or WHEP session: a mediasoup WebRtcTransport plus the HTTP-facing state around it (session
// id, ETag, remote ICE credentials) and the RFC 9725 PATCH rules (trickle, ICE restart, If-Match).
// It owns its transport and closes it exactly once; subclasses add producers or consumers.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { MediaError } from './media-error.js';
import type { ParsedOffer } from './sdp/offer.js';
import { candidateLine, parseSdpFrag, writeRestartFrag } from './sdp/trickle.js';

export interface TransportSettings {
  listenIp: string;
  announcedAddress: string | undefined;
  /** Kernel buffer of each socket (0 keeps the kernel default). */
  socketBufferBytes?: number;
}

export type PatchResult = { status: 204 } | { status: 200; body: string; etag: string };

export const newId = (bytes = 12) => randomBytes(bytes).toString('base64url');
const newEtag = () => `"${randomBytes(8).toString('hex')}"`;

export async function createWebRtcTransport(router: types.Router, s: TransportSettings): Promise<types.WebRtcTransport> {
  const announced = s.announcedAddress ? { announcedAddress: s.announcedAddress } : {};
  const buffers = s.socketBufferBytes ? { recvBufferSize: s.socketBufferBytes, sendBufferSize: s.socketBufferBytes } : {};
  return router.createWebRtcTransport({
    listenInfos: [
      { protocol: 'udp', ip: s.listenIp, ...announced, ...buffers },
      { protocol: 'tcp', ip: s.listenIp, ...announced, ...buffers },
    ],
    preferUdp: true,
    initialAvailableOutgoingBitrate: 1_500_000,
  });
}

export abstract class RtcSession extends EventEmitter<{ closed: [reason: string]; connected: [] }> {
  readonly id = newId();
  etag = newEtag();
  /** ICE and DTLS are up: media can flow (a viewer counts from here on). */
  connected = false;
  private remoteUfrag: string;
  private _closed = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private disconnectTimer: NodeJS.Timeout | undefined;

  protected constructor(
    readonly transport: types.WebRtcTransport,
    protected readonly offer: ParsedOffer,
    private readonly bundle: { mid: string; kind: string }[],
    connectTimeoutMs: number,
  ) {
    super();
    this.remoteUfrag = offer.iceUfrag;
    // A client that posts an offer and never completes ICE+DTLS must not hold the session forever.
    this.connectTimer = setTimeout(() => this.close('connect_timeout'), connectTimeoutMs);
    transport.on('dtlsstatechange', (state) => {
      if (state === 'connected') {
        clearTimeout(this.connectTimer);
        this.connected = true;
        this.onConnected();
        this.emit('connected');
      } else if (state === 'failed' || state === 'closed') this.close(`dtls_${state}`);
    });
    transport.on('icestatechange', (state) => {
      clearTimeout(this.disconnectTimer);
      // ICE consent lost: give the peer time to come back (or ICE-restart) before ending.
      if (state === 'disconnected') this.disconnectTimer = setTimeout(() => this.close('ice_disconnected'), 15_000);
    });
    transport.observer.once('close', () => this.close('transport_closed'));
  }

  get closed(): boolean {
    return this._closed;
  }

  protected abstract onConnected(): void;

  /** Connects DTLS with the offerer's fingerprint; returns the setup attribute for our answer. */
  protected async connectDtls(): Promise<'active' | 'passive'> {
    const weAre = this.offer.setup === 'passive' ? 'active' : 'passive';
    await this.transport.connect({
      dtlsParameters: {
        role: weAre === 'passive' ? 'client' : 'server',
        fingerprints: [{ algorithm: this.offer.fingerprint.algorithm as types.FingerprintAlgorithm, value: this.offer.fingerprint.value }],
      },
    });
    return weAre;
  }

  /** RFC 9725 section 4.3: trickle ICE (204) or ICE restart (200 with new credentials and ETag). */
  async patch(ifMatch: string | undefined, body: string): Promise<PatchResult> {
    if (this._closed) throw new MediaError('session_not_found', 'this session has ended');
    const frag = parseSdpFrag(body);
    const restart = ifMatch === '*';
    if (!restart && ifMatch !== undefined && ifMatch !== this.etag) {
      throw new MediaError('etag_mismatch', `If-Match ${ifMatch} does not match the session's current ETag`);
    }
    if (!restart) {
      if (frag.iceUfrag && frag.iceUfrag !== this.remoteUfrag) {
        throw new MediaError('ice_ufrag_mismatch', 'the fragment belongs to another ICE session; an ICE restart needs If-Match: *');
      }
      return { status: 204 }; // ICE-lite: remote candidates are learnt from connectivity checks
    }
    if (!frag.iceUfrag || !frag.icePwd) throw new MediaError('bad_sdp', 'an ICE restart needs a=ice-ufrag and a=ice-pwd');
    const ice = await this.transport.restartIce();
    this.remoteUfrag = frag.iceUfrag;
    this.etag = newEtag();
    const body200 = writeRestartFrag(
      ice,
      this.transport.iceCandidates.map((c) => candidateLine(c)),
      this.bundle[0]!,
      this.bundle.map((b) => b.mid),
    );
    return { status: 200, body: body200, etag: this.etag };
  }

  /** Ends a session whose setup failed and rethrows the failure as a client error. */
  failSetup(err: unknown): never {
    this.close('setup_failed');
    if (err instanceof MediaError) throw err;
    throw new MediaError('unsupported_sdp', `mediasoup refused the offer: ${(err as Error).message}`);
  }

  close(reason: string): void {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this.connectTimer);
    clearTimeout(this.disconnectTimer);
    if (!this.transport.closed) this.transport.close();
    this.emit('closed', reason);
    this.removeAllListeners();
  }
}
