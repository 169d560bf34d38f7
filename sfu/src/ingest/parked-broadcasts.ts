// The broadcasts of RTMP and SRT encoders that dropped off without saying goodbye, kept so that the
// same encoder reconnecting resumes them: same session, producers and viewers, its new contribution
// encoder sending from the same local ports (the session's RTP keeps its 5-tuple). Owns only that
// map: a parked session still ends on its own silence timeout (PUBLISHER_TIMEOUT_MS), and leaves the
// map when it does. Both listeners open a publication's broadcast here, resumed or new.
import type { MediaPlane } from '../media-plane.js';
import type { RtpIngestSession } from '../rtp-ingest-session.js';
import { freeLocalUdpPort } from './contribution-encoder.js';

/** The local UDP ports a stream's contribution encoder sends its video and audio RTP from. */
export interface EncoderLocalPorts {
  video: number;
  audio: number;
}

/** A contribution broadcast: its ingest session and the ports its encoder sends from. */
export interface ContributionBroadcast {
  session: RtpIngestSession;
  localPorts: EncoderLocalPorts;
}

export class ParkedBroadcasts {
  private readonly parked = new Map<string, ContributionBroadcast>();

  /** Keeps a dropped publisher's broadcast for it to reconnect (until the session ends on its own). */
  park(streamId: string, broadcast: ContributionBroadcast): void {
    const { session } = broadcast;
    if (session.closed) return;
    this.parked.set(streamId, broadcast);
    session.once('closed', () => {
      if (this.parked.get(streamId)?.session === session) this.parked.delete(streamId);
    });
  }

  /** Whether `streamId` has a parked broadcast a reconnecting encoder would resume. */
  has(streamId: string): boolean {
    const parked = this.parked.get(streamId);
    return parked !== undefined && !parked.session.closed;
  }

  /**
   * The stream's parked broadcast, resumed (its session told the encoder restarted), or a new one
   * with fresh local ports. Throws the media plane's MediaError when it refuses (e.g. already live).
   */
  async resumeOrPublish(media: MediaPlane, streamId: string): Promise<ContributionBroadcast & { resumed: boolean }> {
    const parked = this.parked.get(streamId);
    this.parked.delete(streamId);
    if (parked && !parked.session.closed) {
      parked.session.encoderRestarted();
      return { ...parked, resumed: true };
    }
    const localPorts = {
      video: await freeLocalUdpPort('127.0.0.1').catch(() => 0),
      audio: await freeLocalUdpPort('127.0.0.1').catch(() => 0),
    };
    return { session: await media.publishRtp(streamId), localPorts, resumed: false };
  }

  /** Ends every parked broadcast (the listener closes with the node). */
  closeAll(reason: string): void {
    for (const { session } of this.parked.values()) session.close(reason);
    this.parked.clear();
  }
}
