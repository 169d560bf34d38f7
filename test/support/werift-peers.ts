// Non-browser WebRTC peers for tests and benches, built on werift (a WebRTC stack in TypeScript):
// a publisher that sends real VP8/H.264 + Opus RTP made by ffmpeg (testsrc + sine) over WHIP, and
// viewers that complete ICE+DTLS over WHEP and count the RTP packets they receive.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, useAbsSendTime, useSdesMid, useTransportWideCC } from 'werift';

export type VideoCodec = 'vp8' | 'h264';

const VIDEO = {
  vp8: new RTCRtpCodecParameters({
    mimeType: 'video/VP8',
    clockRate: 90000,
    payloadType: 96,
    rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'transport-cc' }],
  }),
  h264: new RTCRtpCodecParameters({
    mimeType: 'video/H264',
    clockRate: 90000,
    payloadType: 102,
    parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'transport-cc' }],
  }),
};
const OPUS = new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111 });

export function newPeer(codec: VideoCodec = 'vp8'): RTCPeerConnection {
  return new RTCPeerConnection({
    // Loopback only, like the SFU in tests: werift otherwise also pairs its other host addresses with
    // the SFU's loopback candidate, and now and then declares the whole connection failed.
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    iceUseIpv6: false,
    codecs: { audio: [OPUS], video: [VIDEO[codec]] },
    headerExtensions: { video: [useSdesMid(), useAbsSendTime(), useTransportWideCC()], audio: [useSdesMid()] },
  });
}

/** A complete offer from a real WebRTC stack, for protocol tests that only exercise signalling. */
export async function makeOffer(
  direction: 'sendonly' | 'recvonly',
  codec: VideoCodec = 'vp8',
): Promise<{ sdp: string; pc: RTCPeerConnection }> {
  const pc = newPeer(codec);
  if (direction === 'sendonly') {
    pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction });
    pc.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction });
  } else {
    pc.addTransceiver('audio', { direction });
    pc.addTransceiver('video', { direction });
  }
  await pc.setLocalDescription(await pc.createOffer());
  await waitGathered(pc);
  return { sdp: pc.localDescription!.sdp, pc };
}

async function waitGathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 3000);
    pc.iceGatheringStateChange.subscribe((s) => {
      if (s === 'complete') {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

export interface Publisher {
  location: string;
  etag: string;
  pc: RTCPeerConnection;
  /** Stops sending RTP but keeps ICE and DTLS up (a publisher that hangs). */
  stopMedia(): void;
  stop(): Promise<void>;
}

/** Publishes ffmpeg-generated media to `POST {baseUrl}/whip/{streamId}` with the stream key. */
export async function publish(
  baseUrl: string,
  streamId: string,
  streamKey: string,
  codec: VideoCodec = 'vp8',
  bitrateKbps = 1500,
  size = '640x360',
): Promise<Publisher> {
  const session = await whipSession(baseUrl, streamId, streamKey, codec);
  const sources = [
    await rtpSource('video', codec, bitrateKbps, size, (b) => session.video.writeRtp(b)),
    await rtpSource('audio', codec, 0, size, (b) => session.audio.writeRtp(b)),
  ];
  return publisherOf(session, sources);
}

/**
 * Publishes RTP whose video payload is random bytes (well-formed RTP, undecodable VP8: no key frame
 * ever) and real Opus audio: a publisher that is live but whose picture no decoder can take.
 */
export async function publishUndecodableVideo(baseUrl: string, streamId: string, streamKey: string): Promise<Publisher> {
  const session = await whipSession(baseUrl, streamId, streamKey, 'vp8');
  let seq = 0;
  const ssrc = 0x1234_5678;
  const timer = setInterval(() => {
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = 0x80 | 96; // marker + VP8's payload type
    header.writeUInt16BE(seq++ & 0xffff, 2);
    header.writeUInt32BE((seq * 3000) >>> 0, 4);
    header.writeUInt32BE(ssrc, 8);
    session.video.writeRtp(Buffer.concat([header, randomBytes(800)]));
  }, 33);
  const noise = { stop: () => clearInterval(timer) };
  return publisherOf(session, [noise, await rtpSource('audio', 'vp8', 0, '', (b) => session.audio.writeRtp(b))]);
}

interface WhipSession {
  pc: RTCPeerConnection;
  video: MediaStreamTrack;
  audio: MediaStreamTrack;
  location: string;
  etag: string;
}

async function whipSession(baseUrl: string, streamId: string, streamKey: string, codec: VideoCodec): Promise<WhipSession> {
  const pc = newPeer(codec);
  const video = new MediaStreamTrack({ kind: 'video' });
  const audio = new MediaStreamTrack({ kind: 'audio' });
  pc.addTransceiver(audio, { direction: 'sendonly' });
  pc.addTransceiver(video, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await waitGathered(pc);
  const res = await fetch(`${baseUrl}/whip/${streamId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamKey}` },
    body: pc.localDescription!.sdp,
  });
  if (res.status !== 201) {
    await pc.close();
    throw new Error(`WHIP POST answered ${res.status}: ${await res.text()}`);
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  return { pc, video, audio, location: new URL(res.headers.get('location')!, baseUrl).toString(), etag: res.headers.get('etag') ?? '' };
}

function publisherOf(session: WhipSession, sources: { stop(): void }[]): Publisher {
  return {
    location: session.location,
    etag: session.etag,
    pc: session.pc,
    stopMedia() {
      for (const s of sources) s.stop();
    },
    async stop() {
      for (const s of sources) s.stop();
      await fetch(session.location, { method: 'DELETE' }).catch(() => {});
      await session.pc.close();
    },
  };
}

// Every ffmpeg this module starts dies with the test process, and none runs longer than 10 minutes.
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
const MAX_SOURCE_SECONDS = '600';

/** ffmpeg encoding a test pattern (or a tone) to RTP on a loopback UDP port we read. */
async function rtpSource(kind: 'audio' | 'video', codec: VideoCodec, bitrateKbps: number, size: string, write: (b: Buffer) => void) {
  const sock: Socket = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const port = (sock.address() as AddressInfo).port;
  sock.on('message', (msg) => write(msg));
  const out = [
    '-f',
    'rtp',
    '-payload_type',
    kind === 'audio' ? '111' : codec === 'vp8' ? '96' : '102',
    `rtp://127.0.0.1:${port}?pkt_size=1200`,
  ];
  const args =
    kind === 'audio'
      ? ['-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-c:a', 'libopus', '-ac', '2', '-b:a', '64k', ...out]
      : [
          '-re',
          '-f',
          'lavfi',
          '-i',
          `testsrc2=size=${size}:rate=30`,
          ...(codec === 'vp8'
            ? ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', '30', '-b:v', `${bitrateKbps}k`]
            : [
                '-c:v',
                'libx264',
                '-preset',
                'ultrafast',
                '-tune',
                'zerolatency',
                '-profile:v',
                'baseline',
                '-g',
                '30',
                '-b:v',
                `${bitrateKbps}k`,
                '-bsf:v',
                'h264_mp4toannexb',
              ]),
          ...out,
        ];
  // Under `setpriv --pdeathsig KILL` (as the ladder's ffmpeg): a test worker that is killed, not
  // exited, would otherwise leave this encoder running for MAX_SOURCE_SECONDS.
  const ff: ChildProcess = spawn(
    '/usr/bin/setpriv',
    ['--pdeathsig', 'KILL', '--', 'ffmpeg', '-hide_banner', '-loglevel', 'error', '-t', MAX_SOURCE_SECONDS, ...args],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  children.add(ff);
  ff.once('exit', () => children.delete(ff));
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      ff.kill('SIGKILL');
      sock.close();
    },
  };
}

export interface Viewer {
  location: string;
  pc: RTCPeerConnection;
  /** RTP packets received per kind so far. */
  received: { audio: number; video: number };
  connected: Promise<void>;
  stop(): Promise<void>;
}

/** A WHEP viewer; `clientId` is sent as the SDK sends it (`?client=`), tying sessions of one player. */
export async function watch(baseUrl: string, streamId: string, options: { clientId?: string } = {}): Promise<Viewer> {
  const pc = newPeer('vp8');
  const received = { audio: 0, video: 0 };
  for (const kind of ['audio', 'video'] as const) {
    const t = pc.addTransceiver(kind, { direction: 'recvonly' });
    t.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => received[kind]++));
  }
  await pc.setLocalDescription(await pc.createOffer());
  await waitGathered(pc);
  const query = options.clientId ? `?client=${encodeURIComponent(options.clientId)}` : '';
  const res = await fetch(`${baseUrl}/whep/${streamId}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp' },
    body: pc.localDescription!.sdp,
  });
  if (res.status !== 201) {
    await pc.close();
    throw new Error(`WHEP POST answered ${res.status}: ${await res.text()}`);
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  // After a 307 to another node the session lives there: Location is relative to the final URL.
  const location = new URL(res.headers.get('location')!, res.url || baseUrl).toString();
  const connected = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('viewer did not connect in 10 s')), 10_000);
    pc.connectionStateChange.subscribe((s) => {
      if (s === 'connected') {
        clearTimeout(t);
        resolve();
      }
    });
  });
  connected.catch(() => {});
  return {
    location,
    pc,
    received,
    connected,
    async stop() {
      await fetch(location, { method: 'DELETE' }).catch(() => {});
      await pc.close();
    },
  };
}
