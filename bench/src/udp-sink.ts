// Child process of the SFU cost bench: the viewers' network endpoints. Opens loopback UDP sockets on
// request and only counts the RTP packets each receives (SRTP is never decrypted: a sink costs as
// little CPU as possible, so that it competes as little as possible with the mediasoup worker on the
// same cores). RTCP (second byte 192..223, RFC 5761) is not counted. Driven over the IPC channel:
//   {op:'open', n} -> {op:'opened', ports}     {op:'counts'} -> {op:'counts', counts, atMs}
//   {op:'close'}   -> exits
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export type SinkRequest = { op: 'open'; n: number } | { op: 'counts' } | { op: 'close' };
/** `atMs` is when the counts were read (wall clock, ms with fractions), to compute rates without IPC skew. */
export type SinkReply = { op: 'opened'; ports: number[] } | { op: 'counts'; counts: number[]; atMs: number };

const sockets: Socket[] = [];
const counts: number[] = [];

async function open(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const index = counts.push(0) - 1;
    const sock = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
    sock.on('message', (msg) => {
      const b1 = msg[1] ?? 0;
      if (b1 < 192 || b1 > 223) counts[index]!++;
    });
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    sockets.push(sock);
    ports.push((sock.address() as AddressInfo).port);
  }
  return ports;
}

const reply = (m: SinkReply) => process.send!(m);

process.on('message', (m: SinkRequest) => {
  if (m.op === 'open') void open(m.n).then((ports) => reply({ op: 'opened', ports }));
  else if (m.op === 'counts') reply({ op: 'counts', counts, atMs: performance.timeOrigin + performance.now() });
  else if (m.op === 'close') {
    for (const s of sockets) s.close();
    process.disconnect();
  }
});
process.on('disconnect', () => process.exit(0));
