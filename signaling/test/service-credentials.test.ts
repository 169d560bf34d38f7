// A node talks to NATS and Redis that require credentials: NATS with user and password or a token
// in NATS_URL, Redis with requirepass in REDIS_URL (chat crosses NATS, the cascade registers in
// Redis). A wrong password stops the node at start with an error that does not quote the secret.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../../test/support/channel-client.js';
import { ChannelClient } from '../../test/support/channel-client.js';
import { PrivateNatsServer } from '../../test/support/nats-server.js';
import { createUserAndStream, startTestNode } from '../../test/support/onair-node.js';

const NATS_PASS = 'n@ts pass/word';
const NATS_TOKEN = 'nats-token-0123456789';
const REDIS_PASS = 'redis-pass-0123456789';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

let natsWithUser: PrivateNatsServer;
let natsWithToken: PrivateNatsServer;
let redis: ChildProcess;
let redisPort: number;

beforeAll(async () => {
  natsWithUser = await PrivateNatsServer.start(['--user', 'onair', '--pass', NATS_PASS]);
  natsWithToken = await PrivateNatsServer.start(['--auth', NATS_TOKEN]);
  redisPort = await freePort();
  redis = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--requirepass', REDIS_PASS, '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const probe = new Redis({ port: redisPort, password: REDIS_PASS, lazyConnect: true, retryStrategy: () => 100 });
  probe.on('error', () => {});
  for (let i = 0; i < 50; i++) {
    if (
      await probe.connect().then(
        () => true,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  probe.disconnect();
});
afterAll(async () => {
  await natsWithUser?.stop();
  await natsWithToken?.stop();
  redis?.kill('SIGKILL');
});

const natsUrl = (server: PrivateNatsServer, auth: string) => server.url.replace('nats://', `nats://${auth}@`);

describe('NATS and Redis with credentials', () => {
  it('runs with user and password for NATS and requirepass for Redis: chat crosses NATS, the cascade registers in Redis', async () => {
    const node = await startTestNode({
      NATS_URL: natsUrl(natsWithUser, `onair:${encodeURIComponent(NATS_PASS)}`),
      REDIS_URL: `redis://:${REDIS_PASS}@127.0.0.1:${redisPort}`,
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
      const check = new Redis({ port: redisPort, password: REDIS_PASS });
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
