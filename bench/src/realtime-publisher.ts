// A forked chat publisher of the real-time bench: publishes a flood of chat messages on NATS the way
// other gateway nodes publish the messages they accepted (ChatMessage protobuf on
// onair.stream.<id>.chat.<partition>), at a set rate, stamped with sentAtMs for the latency count.
// With a warm-up, it first publishes `warmupSeconds` at `warmupRate` (a busy chat before the hype
// moment: the gateway, NATS and the clients have run their chat paths, as a node that has been up
// for a while has), says 'warm', and starts the measured flood when told 'go'.
// Reports how many it published in the flood and over how long, then exits.
import { connect } from 'nats';
import { onair } from '@onair/proto';
import { streamTopics } from '@onair/platform';

const { ChatMessage } = onair.channel.v1;

export interface PublishJob {
  natsUrl: string;
  streamId: string;
  rate: number;
  seconds: number;
  /**
   * 'chat' (default): chat messages. 'reactions': `nodes` simulated gateway nodes each publish the
   * partial reaction counts of their 250 ms window on onair.stream.<id>.reactions, summing to `rate`/s.
   */
  what?: 'chat' | 'reactions';
  nodes?: number;
  warmupSeconds?: number;
  warmupRate?: number;
}

async function publishReactions(job: PublishJob): Promise<void> {
  const nc = await connect({ servers: job.natsUrl });
  const nodes = job.nodes ?? 100;
  const emojis = ['❤️', '🔥', '😂', '👏'];
  const started = Date.now();
  let sent = 0;
  let window = 0;
  while (Date.now() - started < job.seconds * 1000) {
    window++;
    const due = Math.floor(((window * 250) / 1000) * job.rate);
    const thisWindow = due - sent;
    for (let n = 0; n < nodes; n++) {
      const share = Math.floor(thisWindow / nodes) + (n < thisWindow % nodes ? 1 : 0);
      const counts: Record<string, number> = {};
      emojis.forEach((e, i) => (counts[e] = Math.floor(share / emojis.length) + (i < share % emojis.length ? 1 : 0)));
      nc.publish(streamTopics.reactions.subject(job.streamId), streamTopics.reactions.codec.encode({ counts }));
    }
    sent = due;
    await new Promise((r) => setTimeout(r, Math.max(0, started + window * 250 - Date.now())));
  }
  await nc.flush();
  const seconds = (Date.now() - started) / 1000;
  await nc.close();
  process.send!({ kind: 'published', sent, seconds }, () => process.exit(0));
}

process.once('message', (job: PublishJob) => {
  if (job.what === 'reactions') return void publishReactions(job);
  void (async () => {
    const nc = await connect({ servers: job.natsUrl });
    let serial = 0;
    /** Publishes `rate` msgs/s for `seconds`; returns how many. */
    const flood = async (rate: number, seconds: number): Promise<number> => {
      const started = Date.now();
      let sent = 0;
      while (Date.now() - started < seconds * 1000) {
        const due = Math.floor(((Date.now() - started) / 1000) * rate);
        for (; sent < due; sent++, serial++) {
          const userId = `00000000-0000-4000-8000-${String(serial % 5000).padStart(12, '0')}`;
          const m = {
            id: `b${serial}`,
            userId,
            username: `crowd${serial % 5000}`,
            text: `message number ${serial} of the flood`,
            sentAtMs: Date.now(),
          };
          nc.publish(streamTopics.chat.subject(job.streamId, m), ChatMessage.encode(m).finish());
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      await nc.flush();
      return sent;
    };
    if (job.warmupSeconds !== undefined) {
      if (job.warmupSeconds > 0) await flood(job.warmupRate ?? job.rate / 10, job.warmupSeconds);
      await new Promise<void>((resolve) => {
        process.once('message', () => resolve()); // 'go'
        process.send!({ kind: 'warm' });
      });
    }
    const started = Date.now();
    const sent = await flood(job.rate, job.seconds);
    const seconds = (Date.now() - started) / 1000;
    await nc.close();
    process.send!({ kind: 'published', sent, seconds }, () => process.exit(0));
  })();
});
