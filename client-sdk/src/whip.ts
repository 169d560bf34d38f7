// Publishing a MediaStream to OnAir over WHIP: one sendonly transceiver per track kind, the chosen
// video codec first, optional three-layer simulcast, then the SDP exchange. The Publisher owns its
// RTCPeerConnection and its session on the server and releases both in stop(); it never stops the
// caller's camera tracks (the caller owns the MediaStream).
import { preferVideoCodec, type VideoCodec } from './codecs.js';
import { OnAirError } from './errors.js';
import { trickleLateCandidates, waitForIceGathering } from './ice.js';
import { Listeners } from './listeners.js';
import { postOffer, type SessionResource } from './sdp-exchange.js';

export interface PublishOptions {
  /** The stream's WHIP endpoint (`ingest.whip` from createStream), e.g. `https://host/whip/<id>`. */
  whipUrl: string;
  /** The stream key; sent as the Bearer credential. */
  streamKey: string;
  stream: MediaStream;
  /** Video codec to put first in the offer. Default `h264`. */
  videoCodec?: VideoCodec;
  /** Send three layers (rid h/m/l at full, half and quarter resolution). Default false. */
  simulcast?: boolean;
  iceServers?: RTCIceServer[];
  /** How long to wait for ICE gathering before sending the offer and trickling the rest. Default 2000. */
  iceGatheringTimeoutMs?: number;
}

export interface Publisher {
  readonly pc: RTCPeerConnection;
  /** The WHIP session resource (the POST's `Location`, absolute). */
  readonly sessionUrl: string;
  /** The ICE session's entity tag from the server, if it sent one. */
  readonly etag: string | undefined;
  readonly state: RTCPeerConnectionState;
  /** Ends the broadcast: DELETE the session, then close the connection. Idempotent. */
  stop(): Promise<void>;
  /** Calls `listener` on every connection state change (`closed` after stop). Returns an unsubscribe. */
  onStateChange(listener: (state: RTCPeerConnectionState) => void): () => void;
}

/** The simulcast layers, highest first as in `a=simulcast:send h;m;l`. */
export const SIMULCAST_ENCODINGS: readonly RTCRtpEncodingParameters[] = [
  { rid: 'h', scaleResolutionDownBy: 1 },
  { rid: 'm', scaleResolutionDownBy: 2 },
  { rid: 'l', scaleResolutionDownBy: 4 },
];

export async function publish(opts: PublishOptions): Promise<Publisher> {
  const audio = opts.stream.getAudioTracks()[0];
  const video = opts.stream.getVideoTracks()[0];
  if (!audio && !video) throw new OnAirError(0, 'no_tracks', 'the stream has no audio or video track to publish');

  const pc = new RTCPeerConnection({ iceServers: opts.iceServers ?? [], bundlePolicy: 'max-bundle' });
  let session: SessionResource | undefined;
  try {
    if (audio) pc.addTransceiver(audio, { direction: 'sendonly', streams: [opts.stream] });
    if (video) {
      const transceiver = pc.addTransceiver(video, {
        direction: 'sendonly',
        streams: [opts.stream],
        ...(opts.simulcast ? { sendEncodings: SIMULCAST_ENCODINGS.map((e) => ({ ...e })) } : {}),
      });
      preferVideoCodec(transceiver, opts.videoCodec ?? 'h264');
    }
    await pc.setLocalDescription(await pc.createOffer());
    const gathered = await waitForIceGathering(pc, opts.iceGatheringTimeoutMs ?? 2000);
    const offer = pc.localDescription!.sdp;
    const exchange = await postOffer(opts.whipUrl, offer, opts.streamKey);
    session = exchange.session;
    await pc.setRemoteDescription({ type: 'answer', sdp: exchange.answer });
    const stopTrickle = gathered ? () => {} : trickleLateCandidates(pc, offer, session, () => {});
    return new WhipPublisher(pc, session, stopTrickle);
  } catch (err) {
    pc.close();
    await session?.delete().catch(() => {});
    throw err;
  }
}

class WhipPublisher implements Publisher {
  private readonly stateListeners = new Listeners<[RTCPeerConnectionState]>();
  private stopping: Promise<void> | undefined;

  constructor(
    readonly pc: RTCPeerConnection,
    private readonly session: SessionResource,
    private readonly stopTrickle: () => void,
  ) {
    pc.addEventListener('connectionstatechange', this.onConnectionState);
  }

  get sessionUrl(): string {
    return this.session.url;
  }

  get etag(): string | undefined {
    return this.session.etag;
  }

  get state(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  onStateChange(listener: (state: RTCPeerConnectionState) => void): () => void {
    return this.stateListeners.add(listener);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopTrickle();
      try {
        await this.session.delete();
      } finally {
        this.pc.removeEventListener('connectionstatechange', this.onConnectionState);
        this.pc.close();
        this.stateListeners.emit('closed'); // close() itself fires no state change
        this.stateListeners.clear();
      }
    })();
    return this.stopping;
  }

  private readonly onConnectionState = () => this.stateListeners.emit(this.pc.connectionState);
}
