// The single-node embedded mode that `npm start` runs: no servers, storage on disk under DATA_DIR.
// Accounts and streams survive a restart; live flags left by a node that died are cleared.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startTestNode, createUserAndStream } from '../../test/support/onair-node.js';

const dataDir = mkdtempSync(join(tmpdir(), 'onair-embedded-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it('keeps accounts and streams across a restart and clears stale live flags', async () => {
  const first = await startTestNode({ DATA_DIR: dataDir });
  expect(first.db.kind).toBe('embedded');
  const s = await createUserAndStream(first.url, 'survives restarts');
  const me = (await (await fetch(`${first.url}/api/me`, { headers: { authorization: `Bearer ${s.token}` } })).json()) as {
    username: string;
  };
  await first.streams.markLive(s.id); // as if the node died while the stream was live
  await first.close();

  const second = await startTestNode({ DATA_DIR: dataDir });
  try {
    const login = await fetch(`${second.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: me.username, password: 'correct horse battery' }),
    });
    expect(login.status).toBe(200);
    // The signing secret is stored, so a token issued before the restart is still valid.
    expect((await fetch(`${second.url}/api/me`, { headers: { authorization: `Bearer ${s.token}` } })).status).toBe(200);
    const stream = (await (await fetch(`${second.url}/api/streams/${s.id}`)).json()) as { title: string; live: boolean };
    expect(stream).toMatchObject({ title: 'survives restarts', live: false });
  } finally {
    await second.close();
  }
});
