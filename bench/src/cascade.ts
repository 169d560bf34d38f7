// The scale-out media path, measured on mediasoup itself (no browser, no HTTP: those do not carry media):
//   1. Delay per relay hop: a synthetic 200 packet/s RTP stream (1,200-byte packets, each carrying its
//      send time) enters a PlainTransport producer on an "origin" router and is relayed over OnAir's
//      own relay links (sfu/src/relay-link.ts: PipeTransport, RTX, optionally SRTP) to a router on a
//      second worker and from there to a third, each worker standing for a node. A PlainTransport
//      consumer on every router sends to a loopback socket here, so 0, 1 and 2 hops are read against
//      one clock. Extra delay per hop = (2-hop delay - 0-hop delay) / 2.
//   2. Viewers per added worker: N PlainTransport+SRTP viewers of that stream on one worker, then the
//      same N split over two workers (the stream piped to the second with pipeToRouter, as a LiveStream
//      does when a router is full). Worker CPU per forwarded packet in both layouts says whether the
//      second worker adds capacity linearly (the pipe is one extra consumer on the source worker).
// Knobs (environment): CASCADE_SECONDS (20), CASCADE_VIEWERS (200), CASCADE_WINDOW_SECONDS (10).
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { DownstreamLink, routerMediaCodecs, UpstreamLink, type LinkSettings } from '@onair/sfu';
import { machineBusyShare, machineTicks, processCpuSeconds } from './proc-cpu.js';
import { distribution, machine, round, table } from './report.js';

const seconds = Number(process.env.CASCADE_SECONDS ?? 20);
const viewers = Number(process.env.CASCADE_VIEWERS ?? 200);
const windowMs = Number(process.env.CASCADE_WINDOW_SECONDS ?? 10) * 1000;
const PPS = 200;
const PAYLOAD_BYTES = 1200;
const SSRC = 0x0a1b2c3d;
const SRTP: types.SrtpCryptoSuite = 'AES_CM_128_HMAC_SHA1_80';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

async function udpSocket(onMessage: (msg: Buffer) => void): Promise<Socket> {
  const s = createSocket('udp4');
  s.on('message', onMessage);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

/** A PlainTransport producer of an Opus-typed stream fed by this process (Opus: no key-frame gating). */
async function originProducer(router: types.Router) {
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, comedia: true, rtcpMux: true });
  const producer = await transport.produce({
    kind: 'audio',
    rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: SSRC }] },
  });
  return { transport, producer, port: transport.tuple.localPort };
}

/** Sends `pps` packets/s to the producer; packet i carries i and its send time (performance.now()). */
function startSender(port: number, sentAt: Map<number, number>) {
  const s = createSocket('udp4');
  let seq = 0;
  const timer = setInterval(() => {
    for (let k = 0; k < PPS / 100; k++) {
      const i = seq++;
      const pkt = Buffer.alloc(12 + PAYLOAD_BYTES);
      pkt[0] = 0x80;
      pkt[1] = 100;
      pkt.writeUInt16BE(i & 0xffff, 2);
      pkt.writeUInt32BE((i * 960) >>> 0, 4);
      pkt.writeUInt32BE(SSRC, 8);
      pkt.writeUInt32BE(i, 12);
      const now = performance.now();
      pkt.writeDoubleBE(now, 16);
      sentAt.set(i, now);
      s.send(pkt, port, '127.0.0.1');
    }
  }, 10);
  return { stop: () => (clearInterval(timer), s.close()) };
}

/** Where an RTP packet's payload starts (mediasoup's consumers add header extensions of their own). */
function payloadOffset(pkt: Buffer): number {
  let at = 12 + 4 * (pkt[0]! & 0x0f);
  if (pkt[0]! & 0x10) at += 4 + 4 * pkt.readUInt16BE(at + 2);
  return at;
}

/** A consumer on `router` sending to a socket of ours; `srtp` makes it a viewer-like SRTP sender. */
async function plainViewer(router: types.Router, producerId: string, sink: Socket, srtp: boolean) {
  const transport = await router.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    rtcpMux: true,
    comedia: false,
    enableSrtp: srtp,
    srtpCryptoSuite: SRTP,
  });
  await transport.connect({
    ip: '127.0.0.1',
    port: (sink.address() as AddressInfo).port,
    ...(srtp ? { srtpParameters: { cryptoSuite: SRTP, keyBase64: transport.srtpParameters!.keyBase64 } } : {}),
  });
  const consumer = await transport.consume({ producerId, rtpCapabilities: router.rtpCapabilities });
  return { transport, consumer };
}

async function relay(from: types.Router, producers: types.Producer[], to: types.Router, settings: LinkSettings) {
  const up = await UpstreamLink.create(to, settings, 60_000);
  const { link, producers: relayed } = await DownstreamLink.open(from, producers, up.local, settings);
  await up.attach(link.local, relayed);
  return { up, down: link };
}

async function hopDelay(workers: types.Worker[], srtp: boolean) {
  const routers = await Promise.all(workers.slice(0, 3).map((w) => w.createRouter({ mediaCodecs: routerMediaCodecs })));
  const origin = await originProducer(routers[0]!);
  const settings: LinkSettings = { listenIp: '127.0.0.1', announcedAddress: undefined, enableSrtp: srtp };
  const hop1 = await relay(routers[0]!, [origin.producer], routers[1]!, settings);
  await relay(routers[1]!, hop1.up.producers, routers[2]!, settings);
  const sentAt = new Map<number, number>();
  const delays: number[][] = [[], [], []];
  const sinks = await Promise.all(
    [0, 1, 2].map((hops) =>
      udpSocket((msg) => {
        const i = msg.readUInt32BE(payloadOffset(msg));
        const at = sentAt.get(i);
        if (at !== undefined) delays[hops]!.push(performance.now() - at);
      }),
    ),
  );
  for (const [hops, r] of routers.entries()) await plainViewer(r, origin.producer.id, sinks[hops]!, false);
  const ticks0 = machineTicks();
  const sender = startSender(origin.port, sentAt);
  await sleep(seconds * 1000);
  sender.stop();
  await sleep(200);
  const busy = machineBusyShare(ticks0, machineTicks());
  for (const s of sinks) s.close();
  for (const r of routers) r.close();
  const sent = sentAt.size;
  return [0, 1, 2].map((hops) => {
    const d = distribution(delays[hops]!);
    return {
      links: srtp ? 'SRTP' : 'RTP',
      hops,
      received: `${delays[hops]!.length}/${sent}`,
      p50_ms: round(d.p50, 3),
      p95_ms: round(d.p95, 3),
      p99_ms: round(d.p99, 3),
      max_ms: round(d.max, 2),
      machine_busy: `${Math.round(busy * 100)} %`,
    };
  });
}

/** N SRTP viewers over `layout` routers (1: all on the source worker; 2: half piped to a second worker). */
async function forwardingCost(workers: types.Worker[], layout: 1 | 2) {
  const source = await workers[0]!.createRouter({ mediaCodecs: routerMediaCodecs });
  const origin = await originProducer(source);
  const routers = [source];
  if (layout === 2) {
    const second = await workers[1]!.createRouter({ mediaCodecs: routerMediaCodecs });
    await source.pipeToRouter({ producerId: origin.producer.id, router: second });
    routers.push(second);
  }
  let received = 0;
  const sinks: Socket[] = [];
  const consumers: types.Consumer[] = [];
  for (let v = 0; v < viewers; v++) {
    const sink = await udpSocket(() => received++);
    sinks.push(sink);
    consumers.push((await plainViewer(routers[v % layout]!, origin.producer.id, sink, true)).consumer);
  }
  // Packets the workers sent, from the consumers' own counters (this process's sockets may drop some).
  const sentByWorkers = async () => {
    let n = 0;
    for (const c of consumers) for (const st of await c.getStats()) if (st.type === 'outbound-rtp') n += st.packetCount;
    return n;
  };
  const sender = startSender(origin.port, new Map());
  await sleep(2000);
  const pids = workers.slice(0, layout).map((w) => w.pid);
  const cpu0 = pids.map(processCpuSeconds);
  const ticks0 = machineTicks();
  const got0 = received;
  const sent0 = await sentByWorkers();
  await sleep(windowMs);
  const cpu = pids.map((p, i) => processCpuSeconds(p) - cpu0[i]!);
  const packets = (await sentByWorkers()) - sent0;
  const got = received - got0;
  const busy = machineBusyShare(ticks0, machineTicks());
  sender.stop();
  for (const s of sinks) s.close();
  source.close();
  for (const r of routers.slice(1)) r.close();
  const workerCpu = cpu.reduce((a, b) => a + b, 0);
  const usPerPacket = (workerCpu * 1e6) / packets;
  return {
    layout: layout === 1 ? '1 worker' : '2 workers (piped)',
    viewers,
    pkts_per_s_out: Math.round(packets / (windowMs / 1000)),
    // What this bench process managed to read back (it shares the 2 cores with the workers).
    read_back: `${round((100 * got) / packets, 1)} %`,
    worker_cpu: cpu.map((c) => `${round((100 * c) / (windowMs / 1000), 0)} %`).join(' + '),
    us_per_pkt: round(usPerPacket, 2),
    // Viewers of a 1.5 Mbps stream (~200 packets/s) one core forwards at this cost.
    viewers_per_core: Math.round(1e6 / (usPerPacket * PPS)),
    machine_busy: `${Math.round(busy * 100)} %`,
  };
}

async function main(): Promise<void> {
  const workers: types.Worker[] = [];
  for (let i = 0; i < 3; i++) workers.push(await mediasoup.createWorker({ logLevel: 'error', rtcMinPort: 20000, rtcMaxPort: 29999 }));
  try {
    process.stderr.write(`[cascade] hop delay: ${seconds} s per run, plain RTP links then SRTP links\n`);
    const hops = [...(await hopDelay(workers, false)), ...(await hopDelay(workers, true))];
    process.stderr.write(`[cascade] forwarding cost: ${viewers} SRTP viewers on 1 worker, then on 2\n`);
    const cost = [await forwardingCost(workers, 1), await forwardingCost(workers, 2)];
    const perHop = (links: string) => {
      const rows = hops.filter((h) => h.links === links);
      return round((rows[2]!.p50_ms - rows[0]!.p50_ms) / 2, 3);
    };
    console.log(table(hops));
    console.log(`extra delay per hop (p50): RTP ${perHop('RTP')} ms, SRTP ${perHop('SRTP')} ms (target <= 20 ms)\n`);
    console.log(table(cost));
    console.log(
      `scaling: 2 workers forward at ${round((100 * cost[0]!.us_per_pkt) / cost[1]!.us_per_pkt, 0)} % of the per-packet efficiency of 1 (100 % = linear)`,
    );
    console.log(JSON.stringify({ machine: machine(), hops, cost }));
  } finally {
    for (const w of workers) w.close();
  }
}

await main();
