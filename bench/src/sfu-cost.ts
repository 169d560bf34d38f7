// The SFU's forwarding cost: one publisher (werift over WHIP, fed by ffmpeg: 640x360 testsrc2 at
// ~1.5 Mbps H.264 or VP8, plus Opus) on a real OnAir node with one mediasoup worker, then viewers:
//   1. WebRTC viewers (werift over WHEP, full ICE/DTLS/SRTP) for a small N: do real viewers get
//      everything, and what does a real viewer cost the worker per packet?
//   2. For the capacity figure, N viewers as mediasoup PlainTransports with SRTP on the stream's
//      router, each sending to its own loopback UDP socket (in a child process) that only counts
//      packets; N steps up until the worker saturates or falls behind its input.
// For every step: the worker's CPU (utime+stime of its process) over a window, divided by the RTP
// packets forwarded in it (counted at the receivers); forwarding loss as packets the consumers sent
// vs packets the receivers got (counted with the producers paused at both ends of the step, so
// nothing is in flight); ingest loss as the publisher's packets the kernel dropped at the worker's
// full receive buffer; and viewers per core = N / (worker CPU share of one core).
// It measures only: it never changes the node, except through the SFU_RECV_BUFFER_BYTES experiment.
// The werift viewer of test/support offers VP8 only, so its WebRTC step needs SFU_CODEC=vp8 (the
// default); with h264, set SFU_WEBRTC_VIEWERS=0.
// Knobs (environment): SFU_CODEC (vp8), SFU_KBPS (1500), SFU_WEBRTC_VIEWERS (15),
// SFU_STEPS (50,100,200,300,400,600), SFU_WINDOW_SECONDS (8), SFU_SETTLE_SECONDS (2);
// SFU_RECV_BUFFER_BYTES (unset) is an experiment: the node's WebRTC transports get that receive buffer.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { types } from 'mediasoup';
import { createUserAndStream, startTestNode, waitFor } from '../../test/support/onair-node.js';
import { publish, watch, type VideoCodec, type Viewer } from '../../test/support/werift-peers.js';
import { machine, round, table } from './report.js';
import { machineBusyShare, machineTicks, processCpuSeconds, processUdpDrops, udpReceiveBufferErrors } from './proc-cpu.js';
import type { SinkReply, SinkRequest } from './udp-sink.js';

const codec = (process.env.SFU_CODEC ?? 'vp8') as VideoCodec;
const kbps = Number(process.env.SFU_KBPS ?? 1500);
const webrtcViewers = Number(process.env.SFU_WEBRTC_VIEWERS ?? (codec === 'vp8' ? 15 : 0));
const steps = (process.env.SFU_STEPS ?? '50,100,200,300,400,600').split(',').map(Number);
const windowMs = Number(process.env.SFU_WINDOW_SECONDS ?? 8) * 1000;
const settleMs = Number(process.env.SFU_SETTLE_SECONDS ?? 2) * 1000;
/** Experiment: give the node's WebRTC transports this SO_RCVBUF (bytes; the kernel caps it at net.core.rmem_max). */
const ingestRecvBufferBytes = Number(process.env.SFU_RECV_BUFFER_BYTES ?? 0);
const TARGET_VIEWERS_PER_CORE = 250;
const TARGET_LOSS = 0.001;
/** A step after which the worker is this busy (share of one core) is the last one. */
const SATURATED = 0.95;
const SRTP_SUITE: types.SrtpCryptoSuite = 'AES_CM_128_HMAC_SHA1_80';
/** The video bitrate the capacity target is stated for. */
const NOMINAL_VIDEO_KBPS = 1500;
const startedAt = performance.now();
const log = (msg: string) => process.stderr.write(`[sfu-cost +${((performance.now() - startedAt) / 1000).toFixed(1)} s] ${msg}\n`);

// Ctrl-C or a timeout still runs the 'exit' hooks that kill what the bench started (ffmpeg, Chromium).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The UDP sinks, in a child process so that counting packets never blocks this process's publisher. */
class SinkProcess {
  private readonly child: ChildProcess;
  private queue: Promise<unknown> = Promise.resolve();

  constructor() {
    this.child = fork(fileURLToPath(new URL('./udp-sink.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }

  get pid(): number {
    return this.child.pid!;
  }

  private ask<T extends SinkReply['op']>(req: SinkRequest, op: T): Promise<Extract<SinkReply, { op: T }>> {
    const next = this.queue.then(
      () =>
        new Promise<Extract<SinkReply, { op: T }>>((resolve) => {
          const onMessage = (m: SinkReply) => {
            if (m.op !== op) return;
            this.child.off('message', onMessage);
            resolve(m as Extract<SinkReply, { op: T }>);
          };
          this.child.on('message', onMessage);
          this.child.send(req);
        }),
    );
    this.queue = next.catch(() => {});
    return next;
  }

  async open(n: number): Promise<number[]> {
    return (await this.ask({ op: 'open', n }, 'opened')).ports;
  }

  async total(): Promise<Reading> {
    const r = await this.ask({ op: 'counts' }, 'counts');
    return { value: r.counts.reduce((a, b) => a + b, 0), atMs: r.atMs };
  }

  close(): void {
    if (this.child.connected) this.child.send({ op: 'close' } satisfies SinkRequest);
    this.child.kill();
  }
}

/** A cumulative counter and when it was read (wall-clock ms), so each rate uses its own time base. */
interface Reading {
  value: number;
  atMs: number;
}

const nowMs = () => performance.timeOrigin + performance.now();
const rate = (a: Reading, b: Reading) => (b.value - a.value) / ((b.atMs - a.atMs) / 1000);

interface SentCounts {
  packets: number;
  audioPackets: number;
  videoPackets: number;
  videoBytes: number;
}

/** RTP packets (and video bytes) the consumers have sent since they were created; RTCP not included. */
async function sentCounts(consumers: readonly types.Consumer[]): Promise<SentCounts> {
  const sum: SentCounts = { packets: 0, audioPackets: 0, videoPackets: 0, videoBytes: 0 };
  const live = consumers.filter((c) => !c.closed);
  for (let i = 0; i < live.length; i += 100) {
    const batch = live.slice(i, i + 100);
    const stats = await Promise.all(batch.map((c) => c.getStats().catch(() => [])));
    batch.forEach((c, j) => {
      for (const st of stats[j]!) {
        if (st.type !== 'outbound-rtp') continue;
        sum.packets += st.packetCount;
        if (c.kind === 'audio') sum.audioPackets += st.packetCount;
        else {
          sum.videoPackets += st.packetCount;
          sum.videoBytes += st.byteCount;
        }
      }
    });
  }
  return sum;
}

interface StepResult {
  viewers: string;
  n: number;
  /** RTP packets per second counted at the receivers during the CPU window. */
  packetsPerSecond: number;
  /** Per viewer, from what the consumers sent between resuming and pausing the producers. */
  videoKbpsPerViewer: number;
  audioPacketsPerViewerPerSecond: number;
  videoPacketsPerViewerPerSecond: number;
  /** RTP packets per second the producers received from the publisher during the window. */
  ingestPacketsPerSecond: number;
  /**
   * Share of the publisher's packets the kernel dropped at the worker's full receive buffer during the
   * window (every viewer loses them). The worker's UDP sockets receive nothing else in this bench.
   */
  ingestLoss: number;
  /** False when ingest lost over 1 % or fell under half its rate alone: the worker fell behind its input. */
  ingestKeptUp: boolean;
  /** Worker CPU time over the window / wall time (1 = one core). */
  workerCpu: number;
  usPerPacket: number;
  loss: number;
  /** N / workerCpu: viewers one core would carry at this stream's measured bitrate. */
  viewersPerCore: number;
  /** The same, with the video packet rate scaled to 1.5 Mbps (the worker's cost is per packet). */
  viewersPerCoreAt1500: number;
  machineBusy: number;
  /** UDP datagrams the kernel dropped for full receive buffers during the window, machine-wide. */
  udpDrops: number;
  /** The same on the sockets of the worker, of this process (the werift publisher and its ffmpeg input), and of the sinks. */
  dropsAt: { worker: number; publisherSide: number; sinks: number };
  sinkCpu: number;
  benchCpu: number;
  stepSeconds: number;
}

interface Stage {
  label: string;
  n: number;
  consumers: readonly types.Consumer[];
  /** RTP packets the receivers have counted so far. */
  received: () => Promise<Reading>;
  receiverPid?: number;
}

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

async function main(): Promise<void> {
  const node = await startTestNode({
    MEDIASOUP_WORKERS: '1',
    PUBLISHER_TIMEOUT_MS: '60000',
    // The load generator stands in for many clients from one address.
    WHEP_PENDING_PER_ADDRESS: '0',
    LOG_LEVEL: process.env.SFU_LOG_LEVEL ?? 'warn',
  });
  const worker = node.media.pool.all[0]!;
  // The stream's router and producers, seen through mediasoup's observer (the media plane keeps them private).
  const routers: types.Router[] = [];
  const producers: types.Producer[] = [];
  const webrtcConsumers: types.Consumer[] = [];
  let ingestTransport: types.Transport | undefined;
  worker.observer.on('newrouter', (router) => {
    routers.push(router);
    if (ingestRecvBufferBytes) {
      // Experiment knob: the node's transports with a bigger kernel receive buffer (mediasoup's listenInfo.recvBufferSize).
      const create = router.createWebRtcTransport.bind(router);
      router.createWebRtcTransport = (o) => {
        const listenInfos = 'listenInfos' in o ? o.listenInfos : undefined;
        return create(
          listenInfos ? ({ ...o, listenInfos: listenInfos.map((l) => ({ ...l, recvBufferSize: ingestRecvBufferBytes })) } as typeof o) : o,
        );
      };
    }
    router.observer.on('newtransport', (t) => {
      ingestTransport ??= t;
      t.observer.on('newproducer', (p) => producers.push(p));
      t.observer.on('newconsumer', (c) => webrtcConsumers.push(c));
    });
  });
  const sinks = new SinkProcess();
  const viewers: Viewer[] = [];
  const rows: StepResult[] = [];
  let producerStats: { kind: string; codec: string | undefined; bitrate: number }[] = [];
  let publisher: Awaited<ReturnType<typeof publish>> | undefined;
  try {
    const stream = await createUserAndStream(node.url, 'sfu cost');
    publisher = await publish(node.url, stream.id, stream.streamKey, codec, kbps);
    publisher.pc.connectionStateChange.subscribe((state) =>
      log(
        `publisher connection: ${state} (event loop delay p99 ${round(loopDelay.percentile(99) / 1e6, 1)} ms, max ${round(loopDelay.max / 1e6, 1)} ms)`,
      ),
    );
    publisher.pc.iceConnectionStateChange.subscribe((state) => log(`publisher ICE: ${state}`));
    await waitFor('the stream to go live', () => node.media.isLive(stream.id), 15_000);
    const router = routers[0]!;
    node.media.on('offline', (id, reason) => log(`stream ${id} ended: ${reason}`));
    log(`live: ${producers.map((p) => p.kind).join('+')} (${codec}), worker pid ${worker.pid}`);

    const pauseProducers = () => Promise.all(producers.map((p) => p.pause()));
    const resumeProducers = () => Promise.all(producers.map((p) => p.resume()));
    const ingestPackets = async () =>
      (await Promise.all(producers.map((p) => p.getStats())))
        .flat()
        .reduce((a, st) => a + (st.type === 'inbound-rtp' ? st.packetCount : 0), 0);

    async function measure(stage: Stage): Promise<StepResult> {
      const stepStart = performance.now();
      await pauseProducers();
      await sleep(300);
      const phases: Record<string, number> = {};
      let mark = performance.now();
      const phase = (name: string) => {
        phases[name] = round((performance.now() - mark) / 1000, 2);
        mark = performance.now();
      };
      const sent0 = await sentCounts(stage.consumers);
      phase('sentCounts0');
      const recv0 = await stage.received();
      phase('received0');
      await resumeProducers();
      const resumedAt = performance.now();
      // mediasoup asks the publisher for a key frame itself when a producer resumes; the source also sends one a second.
      await sleep(settleMs);
      phase('settle');
      const cpuReading = (pid: number | undefined): Reading => ({ value: pid ? processCpuSeconds(pid) : 0, atMs: nowMs() });
      const reading = async () => ({
        worker: cpuReading(worker.pid),
        sink: cpuReading(stage.receiverPid),
        bench: { value: ((u) => (u.user + u.system) / 1e6)(process.cpuUsage()), atMs: nowMs() },
        machine: machineTicks(),
        udpDrops: udpReceiveBufferErrors(),
        drops: {
          worker: processUdpDrops(worker.pid),
          bench: processUdpDrops(process.pid),
          sinks: stage.receiverPid ? processUdpDrops(stage.receiverPid) : 0,
        },
        recv: await stage.received(),
        ingest: { value: await ingestPackets(), atMs: nowMs() },
      });
      const before = await reading();
      phase('readingBefore');
      await sleep(windowMs);
      phase('window');
      const after = await reading();
      phase('readingAfter');
      await pauseProducers();
      const sendingSeconds = (performance.now() - resumedAt) / 1000;
      await sleep(300);
      const sent1 = await sentCounts(stage.consumers);
      phase('sentCounts1');
      const recv1 = await stage.received();
      phase('received1');
      if ((performance.now() - stepStart) / 1000 > (settleMs + windowMs) / 1000 + 3)
        log(`slow step, phases (s): ${JSON.stringify(phases)}`);
      const workerCpu = rate(before.worker, after.worker);
      const packetsPerSecond = rate(before.recv, after.recv);
      const sent = sent1.packets - sent0.packets;
      const perViewer = (v: number) => (stage.n ? v / stage.n / sendingSeconds : NaN);
      const videoKbps = perViewer(((sent1.videoBytes - sent0.videoBytes) * 8) / 1000);
      const audioPps = perViewer(sent1.audioPackets - sent0.audioPackets);
      const videoPps = perViewer(sent1.videoPackets - sent0.videoPackets);
      const usPerPacket = packetsPerSecond > 0 ? (workerCpu / packetsPerSecond) * 1e6 : NaN;
      const ingestDrops = after.drops.worker - before.drops.worker;
      const ingested = after.ingest.value - before.ingest.value;
      const ingestLoss = ingestDrops / Math.max(1, ingested + ingestDrops);
      const row: StepResult = {
        ingestLoss,
        ingestKeptUp: !stage.n || (ingestLoss <= 0.01 && rate(before.ingest, after.ingest) >= 0.5 * (rows[0]?.ingestPacketsPerSecond ?? 0)),
        viewers: stage.label,
        n: stage.n,
        packetsPerSecond,
        ingestPacketsPerSecond: rate(before.ingest, after.ingest),
        videoKbpsPerViewer: videoKbps,
        audioPacketsPerViewerPerSecond: audioPps,
        videoPacketsPerViewerPerSecond: videoPps,
        workerCpu,
        usPerPacket,
        loss: sent ? Math.max(0, (sent - (recv1.value - recv0.value)) / sent) : NaN,
        viewersPerCore: stage.n ? stage.n / workerCpu : NaN,
        viewersPerCoreAt1500: 1e6 / (usPerPacket * (audioPps + videoPps * (NOMINAL_VIDEO_KBPS / videoKbps))),
        machineBusy: machineBusyShare(before.machine, after.machine),
        udpDrops: after.udpDrops - before.udpDrops,
        dropsAt: {
          worker: after.drops.worker - before.drops.worker,
          publisherSide: after.drops.bench - before.drops.bench,
          sinks: after.drops.sinks - before.drops.sinks,
        },
        sinkCpu: rate(before.sink, after.sink),
        benchCpu: rate(before.bench, after.bench),
        stepSeconds: (performance.now() - stepStart) / 1000,
      };
      if (!row.ingestKeptUp) {
        const [t] = (await ingestTransport?.getStats().catch(() => [])) ?? [];
        log(`ingest fell behind: publisher connection ${publisher?.pc.connectionState}, ingest transport ${JSON.stringify(t)}`);
      }
      log(`event loop delay of this process: p99 ${round(loopDelay.percentile(99) / 1e6, 1)} ms, max ${round(loopDelay.max / 1e6, 1)} ms`);
      loopDelay.reset();
      log(
        `${stage.label} x${stage.n}: ${JSON.stringify(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'number' ? round(v, 4) : v])))}`,
      );
      return row;
    }

    // 0. The publisher alone: what ingest costs the worker.
    rows.push(await measure({ label: 'none (ingest only)', n: 0, consumers: [], received: async () => ({ value: 0, atMs: nowMs() }) }));
    producerStats = await Promise.all(
      producers.map(async (p) => ({
        kind: p.kind,
        codec: p.rtpParameters.codecs[0]?.mimeType,
        bitrate: (await p.getStats()).reduce((a, x) => a + x.bitrate, 0),
      })),
    );

    // 1. Real WebRTC viewers.
    if (webrtcViewers > 0) {
      for (let i = 0; i < webrtcViewers; i++) viewers.push(await watch(node.url, stream.id));
      await Promise.all(viewers.map((v) => v.connected));
      rows.push(
        await measure({
          label: 'WebRTC (werift, WHEP)',
          n: viewers.length,
          consumers: webrtcConsumers.filter((c) => !c.closed),
          received: async () => ({ value: viewers.reduce((a, v) => a + v.received.audio + v.received.video, 0), atMs: nowMs() }),
        }),
      );
      await Promise.all(viewers.map((v) => v.stop()));
      viewers.length = 0;
      await waitFor('the WebRTC viewers to leave', () => node.media.viewerCount(stream.id) === 0);
    }

    // 2. PlainTransport + SRTP viewers, stepping up until the worker saturates.
    const caps: types.RtpCapabilities = {
      ...router.rtpCapabilities,
      // No transport-cc: these sinks send no feedback, so no bandwidth estimation (and no probing).
      codecs: router.rtpCapabilities.codecs!.map((c) => ({
        ...c,
        rtcpFeedback: (c.rtcpFeedback ?? []).filter((f) => f.type !== 'transport-cc'),
      })),
      headerExtensions: router.rtpCapabilities.headerExtensions!.filter((h) => !/transport-wide-cc|abs-send-time|sdes:mid/.test(h.uri)),
    };
    const plainConsumers: types.Consumer[] = [];
    let plainViewers = 0;
    for (const n of steps) {
      const ports = await sinks.open(n - plainViewers);
      const addViewer = async (port: number) => {
        const transport = await router.createPlainTransport({
          listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
          rtcpMux: true,
          comedia: false,
          enableSrtp: true,
          srtpCryptoSuite: SRTP_SUITE,
        });
        await transport.connect({
          ip: '127.0.0.1',
          port,
          srtpParameters: { cryptoSuite: SRTP_SUITE, keyBase64: randomBytes(30).toString('base64') },
        });
        for (const p of producers) plainConsumers.push(await transport.consume({ producerId: p.id, rtpCapabilities: caps }));
      };
      for (let i = 0; i < ports.length; i += 25) await Promise.all(ports.slice(i, i + 25).map(addViewer));
      plainViewers = n;
      log(`${n} PlainTransport viewers set up`);
      const row = await measure({
        label: 'PlainTransport+SRTP',
        n,
        consumers: plainConsumers,
        received: () => sinks.total(),
        receiverPid: sinks.pid,
      });
      rows.push(row);
      if (row.workerCpu >= SATURATED || row.loss > 0.01) break;
      if (!row.ingestKeptUp) {
        log(
          `stopping: at ${n} viewers the worker dropped the publisher's packets at its receive buffer (or ingest fell under half its rate)`,
        );
        break;
      }
    }
    await resumeProducers();
  } finally {
    await Promise.all(viewers.map((v) => v.stop().catch(() => {})));
    await publisher?.stop().catch(() => {});
    sinks.close();
    await node.close();
  }

  console.log(
    `\nSFU forwarding cost: one mediasoup ${machine().mediasoup} worker, ${codec} ${kbps} kbps + Opus publisher, ` +
      `${windowMs / 1000} s window per step; targets >= ${TARGET_VIEWERS_PER_CORE} viewers/core at ${NOMINAL_VIDEO_KBPS} kbps, loss < ${TARGET_LOSS * 100} %\n`,
  );
  console.log(
    table(
      rows.map((r) => ({
        viewers: r.viewers,
        N: r.n,
        'video kbps/viewer': r.n ? round(r.videoKbpsPerViewer, 0) : '-',
        'pkts/s/viewer': r.n ? round(r.audioPacketsPerViewerPerSecond + r.videoPacketsPerViewerPerSecond, 0) : '-',
        'pkts/s in': round(r.ingestPacketsPerSecond, 0),
        'pkts/s out': round(r.packetsPerSecond, 0),
        'worker CPU %': round(r.workerCpu * 100, 1),
        'us/pkt': r.n ? round(r.usPerPacket, 1) : '-',
        'ingest loss %': round(r.ingestLoss * 100, 2),
        'fwd loss %': r.n ? round(r.loss * 100, 3) : '-',
        'viewers/core': r.n ? round(r.viewersPerCore, 0) : '-',
        [`viewers/core @${NOMINAL_VIDEO_KBPS / 1000} Mbps`]: r.n ? round(r.viewersPerCoreAt1500, 0) : '-',
        'machine busy %': round(r.machineBusy * 100, 0),
        'UDP drops worker/pub/sinks/all': `${r.dropsAt.worker}/${r.dropsAt.publisherSide}/${r.dropsAt.sinks}/${r.udpDrops}`,
        'sinks CPU %': r.sinkCpu ? round(r.sinkCpu * 100, 0) : '-',
        'bench CPU %': round(r.benchCpu * 100, 0),
        'ingest kept up': r.ingestKeptUp ? 'yes' : 'NO',
      })),
    ),
  );
  console.log(
    '\n' +
      JSON.stringify(
        {
          bench: 'sfu-cost',
          machine: machine(),
          codec,
          kbps,
          recvBufferBytes: ingestRecvBufferBytes || 'kernel default',
          windowSeconds: windowMs / 1000,
          producers: producerStats,
          steps: rows,
        },
        null,
        2,
      ),
  );
}

// Exits explicitly: werift leaves sockets and timers behind after its peers close.
main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
