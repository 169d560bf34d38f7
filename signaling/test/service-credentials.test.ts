// A node talks to NATS and Redis that require credentials: NATS with user and password or a token
// in NATS_URL, Redis with requirepass in REDIS_URL (chat crosses NATS, the cascade registers in
// Redis). A wrong password stops the node at start with an error that does not quote the secret.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../../test/support/channel-client.js';
import { ChannelClient } from '../../test/support/channel-client.js';
import { PrivateNatsServer } from '../../test/support/nats-server.js';
import { PrivateRedis } from '../../test/support/redis-server.js';
import { createUserAndStream, startTestNode } from '../../test/support/onair-node.js';

const NATS_PASS = 'n@ts pass/word';
const NATS_TOKEN = 'nats-token-0123456789';
const REDIS_PASS = 'redis-pass-0123456789';

let natsWithUser: PrivateNatsServer;
let natsWithToken: PrivateNatsServer;
let redis: PrivateRedis;

beforeAll(async () => {
  natsWithUser = await PrivateNatsServer.start(['--user', 'onair', '--pass', NATS_PASS]);
  natsWithToken = await PrivateNatsServer.start(['--auth', NATS_TOKEN]);
  redis = await PrivateRedis.start({ password: REDIS_PASS });
});
afterAll(async () => {
  await natsWithUser?.stop();
  await natsWithToken?.stop();
  await redis?.kill();
});

const natsUrl = (server: PrivateNatsServer, auth: string) => server.url.replace('nats://', `nats://${auth}@`);

describe('NATS and Redis with credentials', () => {
  it('runs with user and password for NATS and requirepass for Redis: chat crosses NATS, the cascade registers in Redis', async () => {
    const node = await startTestNode({
      NATS_URL: natsUrl(natsWithUser, `onair:${encodeURIComponent(NATS_PASS)}`),
      REDIS_URL: redis.url,
      CASCADE: 'on',
      NODE_ID: `creds${process.pid}`,
      CASCADE_REGISTRY_PREFIX: `onair-creds-${process.pid}`,
    });
    try {
      expect(node.bus.kind).toBe('nats');
      expect(node.bus.status).toBe('connected');
      const s = await createUserAndStream(node.url, 'with credentials');
      const user = await registerUser(node.url);
      const viewer = await ChannelClient.connect(node.url, s.id);
      const sender = await ChannelClient.connect(node.url, s.id, user.token);
      sender.chat('over an authenticated NATS');
      await viewer.waitForText('over an authenticated NATS');
      const check = new Redis({ port: redis.port, password: REDIS_PASS });
      expect((await check.keys(`onair-creds-${process.pid}*`)).length).toBeGreaterThan(0);
      check.disconnect();
      await Promise.all([viewer.close(), sender.close()]);
    } finally {
      await node.close();
    }
  });

  it('takes a NATS token from the URL', async () => {
    const node = await startTestNode({ NATS_URL: natsUrl(natsWithToken, NATS_TOKEN) });
    try {
      expect(node.bus.status).toBe('connected');
    } finally {
      await node.close();
    }
  });

  it('a wrong NATS password or none stops the node at start, and the error does not quote the secret', async () => {
    for (const url of [natsUrl(natsWithUser, 'onair:wrong-secret-value'), natsWithUser.url]) {
      const failed = await startTestNode({ NATS_URL: url }).then(
        async (n) => {
          await n.close();
          return undefined;
        },
        (err: Error) => err,
      );
      expect(failed, url).toBeInstanceOf(Error);
      expect(String(failed?.message)).toMatch(/auth/i);
      expect(String(failed?.message) + String(failed?.stack)).not.toContain('wrong-secret-value');
    }
  });
});
