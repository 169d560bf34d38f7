// Fetches mediasoup's published prebuilt worker for this platform, the path mediasoup itself takes
// on a machine with internet. Exits 1 quickly (never hangs an install) when the host cannot be reached
// or the binary does not run here, so the caller falls back to building from source.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir, platform, arch } from 'node:os';
import { join } from 'node:path';

const [msDir, outDir] = process.argv.slice(2);
const pkg = JSON.parse(readFileSync(join(msDir, 'package.json'), 'utf8'));
const base = process.env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL
  ?? `${pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '')}/releases/download`;
const url = `${base}/${pkg.version}/mediasoup-worker-${pkg.version}-${platform()}-${arch()}.tgz`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const dir = mkdtempSync(join(tmpdir(), 'ms-prebuilt-'));
  const tgz = join(dir, 'worker.tgz');
  writeFileSync(tgz, Buffer.from(await res.arrayBuffer()));
  execFileSync('tar', ['xzf', tgz, '-C', dir]);
  const bin = join(dir, 'mediasoup-worker');
  chmodSync(bin, 0o755);
  const missing = execFileSync('ldd', [bin], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('not found'));
  if (missing.length) throw new Error(`missing libraries: ${missing.join('; ')}`);
  copyFileSync(bin, join(outDir, 'mediasoup-worker'));
  rmSync(dir, { recursive: true, force: true });
  console.log(`fetch-prebuilt-worker: installed prebuilt worker from ${url}`);
} catch (err) {
  console.log(`fetch-prebuilt-worker: no prebuilt worker (${err instanceof Error ? err.message : err}); building from source`);
  process.exit(1);
}
