// The native drain client of the real-time bench (bench/native/ws-drain.c): compiled on first use
// with the machine's C compiler into bench/dist, spawned with a share of the viewers, and driven over
// its stdin/stdout line protocol (ready / reset / report / exit).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../../../native/ws-drain.c', import.meta.url)); // bench/dist/bench/src -> bench/native
const BINARY = fileURLToPath(new URL('../../ws-drain', import.meta.url)); // bench/dist/ws-drain

/** Builds the drainer when missing or older than its source; throws with the compiler's message. */
export function buildDrainer(): string {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return BINARY;
  mkdirSync(fileURLToPath(new URL('../../', import.meta.url)), { recursive: true });
  execFileSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-o', BINARY, SOURCE], { stdio: 'inherit' });
  return BINARY;
}

export interface DrainReport {
  open: number;
  failed: number;
  closed: number;
  frames: number;
  chatFrames: number;
  bytes: number;
}

export class DrainClient {
  readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;

  /** Opens `count` viewers of `wsUrl` from `localAddress`; call `ready()` to wait for them. */
  constructor(wsUrl: string, localAddress: string, count: number, concurrency = 100) {
    const url = new URL(wsUrl);
    this.child = spawn(buildDrainer(), [url.hostname, url.port, url.pathname, localAddress, String(count), String(concurrency)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }

  private async next(prefix: string): Promise<string[]> {
    for (;;) {
      const { value, done } = await this.lines.next();
      if (done) throw new Error(`ws-drain exited (${this.child.exitCode ?? this.child.signalCode}) while waiting for "${prefix}"`);
      const words = (value as string).trim().split(' ');
      if (words[0] === prefix) return words.slice(1);
    }
  }

  async ready(): Promise<{ open: number; failed: number }> {
    const [open, failed] = (await this.next('ready')).map(Number);
    return { open: open!, failed: failed! };
  }

  /** Zeroes the counters; frames after `until` (epoch ms) are not counted. */
  async reset(until: number): Promise<void> {
    this.child.stdin!.write(`reset ${until}\n`);
    await this.next('reset-done');
  }

  async report(): Promise<DrainReport> {
    this.child.stdin!.write('report\n');
    const [open, failed, closed, frames, chatFrames, bytes] = (await this.next('report')).map(Number);
    return { open: open!, failed: failed!, closed: closed!, frames: frames!, chatFrames: chatFrames!, bytes: bytes! };
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end('exit\n');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000)).then(() => this.child.kill('SIGKILL'))]);
  }
}
