// The naive design the real-time bench compares OnAir's gateway with: a minimal `ws` gateway that
// sends one WebSocket frame per chat message per viewer (each message encoded once, then ws.send to
// every socket), with the same 256 KiB backpressure cut-off (frames dropped above it). Forked by
// bench/src/realtime-scale.ts; answers `stats` over IPC with the frames it sent and dropped.
import { connect } from 'nats';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { onair } from '@onair/proto';
import { streamTopics } from '@onair/platform';

const { ServerFrame, ChatMessage } = onair.channel.v1;
const [natsUrl, streamId] = process.argv.slice(2) as [string, string];

const wss = new WebSocketServer({ port: 0, host: '0.0.0.0', perMessageDeflate: false, clientTracking: false, backlog: 4096 });
await new Promise((r) => wss.once('listening', r));
const nc = await connect({ servers: natsUrl });
const sockets = new Set<WebSocket>();
let sent = 0;
let dropped = 0;
/** Sends are counted only until this (epoch ms): when it falls behind, this process answers late. */
let countUntil = Infinity;
wss.on('connection', (ws) => {
  sockets.add(ws);
  ws.on('error', () => ws.terminate());
  ws.on('close', () => sockets.delete(ws));
});
nc.subscribe(streamTopics.chat.pattern(streamId), {
  callback: (_err, msg) => {
    const m = ChatMessage.decode(msg.data);
    const frame = ServerFrame.encode({ chat: { messages: [m] } }).finish();
    const counted = Date.now() <= countUntil;
    for (const ws of sockets) {
      if (ws.bufferedAmount < 256 * 1024) {
        ws.send(frame);
        if (counted) sent++;
      } else if (counted) dropped++;
    }
  },
});
process.on('message', (msg: { kind: string; until?: number }) => {
  if (msg.kind === 'count-until') countUntil = msg.until!;
  if (msg.kind === 'stats') process.send!({ kind: 'stats', sent, dropped });
});
process.on('disconnect', () => process.exit(0));
process.send!({ kind: 'listening', port: (wss.address() as { port: number }).port });
