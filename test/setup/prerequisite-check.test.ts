// The setup behind `npm start` / `npm test` (scripts/setup.sh): a machine that lacks a prerequisite
// gets one clear message naming the exact install command and a non-zero exit, never a build tool's
// "not found" halfway through. Runs the real script with a PATH that lacks ffmpeg; installs nothing
// (ONAIR_SETUP_INSTALL=never, and `check` mode never installs).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A PATH directory holding only `tools` (links to this machine's copies). */
function pathWith(tools: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'onair-path-'));
  dirs.push(dir);
  for (const tool of tools) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found) symlinkSync(found, join(dir, tool));
  }
  return dir;
}

// cc: the SRT ingest helper is compiled on first use, so `start` needs a C compiler too.
const BASICS = ['bash', 'cat', 'cut', 'sort', 'tr', 'sed', 'head', 'id', 'cksum', 'pkg-config', 'node', 'npm', 'cc'];

function check(profile: 'start' | 'test', path: string) {
  return spawnSync('bash', [join(root, 'scripts/setup.sh'), 'check', profile], {
    cwd: root,
    encoding: 'utf8',
    env: { PATH: path, HOME: process.env.HOME ?? '/root', ONAIR_SETUP_INSTALL: 'never' },
  });
}

it('names the missing tool and the exact apt-get command, and exits non-zero', () => {
  const run = check('start', pathWith([...BASICS, 'apt-get']));
  expect(run.status).toBe(3);
  expect(run.stderr).toContain('missing prerequisites');
  expect(run.stderr).toMatch(/ffmpeg +\(ffmpeg, for HLS\/DASH ladder/);
  expect(run.stderr).toContain('sudo apt-get update && sudo apt-get install -y --no-install-recommends ffmpeg');
  expect(run.stderr).not.toMatch(/not found/);
});

it('on a system without apt-get, says which Debian packages are needed', () => {
  const run = check('test', pathWith(BASICS));
  expect(run.status).toBe(3);
  expect(run.stderr).toContain('not a Debian/Ubuntu system');
  expect(run.stderr).toMatch(/Debian packages: .*chromium.*ffmpeg/);
});

it('passes when every prerequisite is on PATH', () => {
  const run = check('start', process.env.PATH ?? '');
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toContain("nothing missing for 'start'");
});
