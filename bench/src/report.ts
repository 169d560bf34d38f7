// Small helpers the benches share for summarising and printing what they measured: percentiles,
// a plain-text table, and the machine the figures come from. Measures nothing itself.
import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface Distribution {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of a sample, in the sample's unit. */
export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  return { count: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: sorted[sorted.length - 1] ?? NaN };
}

/** Renders rows as an aligned text table (numbers right-aligned). */
export function table(rows: Record<string, string | number>[]): string {
  if (!rows.length) return '(no rows)';
  const cols = Object.keys(rows[0]!);
  const cell = (v: string | number | undefined) => (v === undefined ? '' : String(v));
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: (string | number | undefined)[]) =>
    vals.map((v, i) => (typeof v === 'number' ? cell(v).padStart(width[i]!) : cell(v).padEnd(width[i]!))).join('  ');
  return [line(cols), width.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(cols.map((c) => r[c])))].join('\n');
}

export const round = (v: number, digits = 1) => (Number.isFinite(v) ? Number(v.toFixed(digits)) : v);

/** Where the figures come from: CPU model and count, memory, OS, Node and mediasoup versions. */
export function machine() {
  const require = createRequire(import.meta.url);
  let os = 'unknown';
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {
    // not Linux
  }
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memGiB: round(totalmem() / 2 ** 30, 1),
    os,
    node: process.version,
    mediasoup: (require('mediasoup/package.json') as { version: string }).version,
    loadAverage1m: round(Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]), 2),
    date: new Date().toISOString(),
  };
}
