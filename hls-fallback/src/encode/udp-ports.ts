// Finds free loopback UDP port pairs (RTP on an even port, RTCP on the next) for ffmpeg to listen on.
// The ports are released before ffmpeg binds them, so a race with another process is possible but
// harmless: ffmpeg then fails to bind, exits, and its supervisor retries with fresh ports.
import { createSocket, type Socket } from 'node:dgram';

function bind(port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(undefined);
    });
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}

export async function freeRtpPortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = await bind(0);
    if (!probe) continue;
    const port = probe.address().port;
    probe.close();
    const rtp = port % 2 === 0 ? port : port - 1;
    const a = await bind(rtp);
    const b = a && (await bind(rtp + 1));
    a?.close();
    b?.close();
    if (a && b) return rtp;
  }
  throw new Error('no free UDP port pair on 127.0.0.1');
}
