// A forked chat publisher of the real-time bench: publishes a flood of chat messages on NATS the way
// other gateway nodes publish the messages they accepted (ChatMessage protobuf on
// onair.stream.<id>.chat.<partition>), at a set rate, stamped with sentAtMs for the latency count.
// Reports how many it published and over how long, then exits.
import { connect } from 'nats';
import { onair } from '@onair/proto';
import { subjects } from '@onair/platform';

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
      nc.publish(subjects.topic(job.streamId, 'reactions'), Buffer.from(JSON.stringify({ counts })));
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
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < job.seconds * 1000) {
      const due = Math.floor(((Date.now() - started) / 1000) * job.rate);
      for (; sent < due; sent++) {
        const userId = `00000000-0000-4000-8000-${String(sent % 5000).padStart(12, '0')}`;
        const m = { id: `b${sent}`, userId, username: `crowd${sent % 5000}`, text: `message number ${sent} of the flood`, sentAtMs: Date.now() };
        nc.publish(subjects.chatFor(job.streamId, userId), ChatMessage.encode(m).finish());
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await nc.flush();
    const seconds = (Date.now() - started) / 1000;
    await nc.close();
    process.send!({ kind: 'published', sent, seconds }, () => process.exit(0));
  })();
});
