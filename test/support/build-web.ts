// Vitest globalSetup: browser tests load the production build the node serves from web/dist, so
// build it (`npm run build -w web`) once per run when it is missing or older than its sources (the
// web app and the SDK it bundles). A lock in the temp directory keeps concurrent runs from building
// over each other.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const built = join(root, 'web/dist/index.html');
const sources = ['web/src', 'web/index.html', 'web/vite.config.ts', 'web/package.json', 'client-sdk/src'].map((p) => join(root, p));
const lockDir = join(tmpdir(), `onair-web-build-${createHash('sha1').update(root).digest('hex').slice(0, 12)}.lock`);
const LOCK_STALE_MS = 3 * 60_000;

function newestMtimeMs(path: string): number {
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newestMtimeMs(join(path, name))), stat.mtimeMs);
}

function isStale(): boolean {
  let builtAt: number;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    return true;
  }
  return Math.max(...sources.map(newestMtimeMs)) > builtAt;
}

async function withLock<T>(fn: () => T): Promise<T> {
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS || Date.now() > deadline) rmSync(lockDir, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

export default async function setup(): Promise<void> {
  if (!isStale()) return;
  await withLock(() => {
    if (!isStale()) return; // another run built it while we waited
    execFileSync('npm', ['run', 'build', '--silent', '-w', 'web'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  });
}
