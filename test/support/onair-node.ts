// Starts a real OnAir node for a test (port 0, embedded storage in memory unless a database URL is
// given) and offers the few API calls tests repeat: register a user, create a stream.
import { loadConfig } from '@onair/platform';
import { startNode, type OnAirNode } from '@onair/signaling';

// HLS is off unless a test asks for it (HLS_MODE: 'always'): an ffmpeg ladder per live stream would
// cost every media test about a core it does not need. Password hashing runs at scrypt's lowest
// accepted cost (2^14, ~40 ms instead of ~0.3-0.5 s) and the sign-in limits are out of reach, since
// every test user registers from 127.0.0.1; the tests of hashing and throttling set their own.
export const TEST_NODE_ENV: Record<string, string> = {
  PORT: '0',
  HOST: '127.0.0.1',
  DATA_DIR: ':memory:',
  LOG_LEVEL: 'warn',
  MEDIASOUP_WORKERS: '1',
  HLS_MODE: 'off',
  PASSWORD_SCRYPT_LOG2N: '14',
  REGISTRATIONS_PER_ADDRESS: '1000000',
  LOGIN_FAILURES_PER_ADDRESS: '1000000',
};

export async function startTestNode(env: Record<string, string> = {}): Promise<OnAirNode> {
  return startNode(loadConfig({ ...TEST_NODE_ENV, ...env }));
}

export interface TestStream {
  id: string;
  streamKey: string;
  token: string;
}

let users = 0;

export async function createUserAndStream(baseUrl: string, title = 'test stream'): Promise<TestStream> {
  const username = `user_${process.pid}_${++users}`;
  const reg = await fetch(`${baseUrl}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'correct horse battery' }),
  });
  if (reg.status !== 201) throw new Error(`register answered ${reg.status}: ${await reg.text()}`);
  const { token } = (await reg.json()) as { token: string };
  const res = await fetch(`${baseUrl}/api/streams`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ title, tags: ['test'], category: 'Testing', language: 'en' }),
  });
  if (res.status !== 201) throw new Error(`create stream answered ${res.status}: ${await res.text()}`);
  const s = (await res.json()) as { id: string; streamKey: string };
  return { id: s.id, streamKey: s.streamKey, token };
}

export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
}
