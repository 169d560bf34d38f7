// An OnAir node as a separate OS process (`node signaling/dist/main.js`, the product's own entry
// point; `npm run build` must have run), for tests where nodes must be able to die like real ones,
// and for benches (which may name another checkout's entry point, for an A/B).
// Logs go to artifacts/logs/<name>.log. The owner stops it with stop() (SIGTERM, a clean shutdown) or
// kill() (SIGKILL, a crash); both wait until the process and its mediasoup workers are gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository: the nearest directory above this file with signaling/ in it (from test/support, or bench/dist/test/support once built). */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(`${dir}/signaling/package.json`)) {
    const up = dirname(dir);
    if (up === dir) throw new Error('node-process: no repository root above this file');
    dir = up;
  }
  return `${dir}/`;
}

const ROOT = repositoryRoot();
const MAIN = `${ROOT}signaling/dist/main.js`;
const LOG_DIR = `${ROOT}artifacts/logs/`;

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

export class NodeProcess {
  private workers: number[] = [];

  private constructor(
    readonly name: string,
    readonly url: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(
    name: string,
    env: Record<string, string>,
    { timeoutMs = 30_000, main = MAIN }: { timeoutMs?: number; main?: string } = {},
  ): Promise<NodeProcess> {
    if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
    mkdirSync(LOG_DIR, { recursive: true });
    const log = createWriteStream(`${LOG_DIR}${name}.log`);
    const child = spawn(process.execPath, [main], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    child.stderr!.pipe(log);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`${name} did not start in ${timeoutMs} ms: ${out.slice(-2000)}`)), timeoutMs);
      const onData = (b: Buffer) => {
        log.write(b);
        out += b.toString();
        const m = /OnAir is running at (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code}) while starting: ${out.slice(-2000)}`));
      });
    });
    const node = new NodeProcess(name, url, child);
    node.workers = childPids(child.pid!);
    return node;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Its mediasoup workers' process ids, as they were once it started. */
  get workerPids(): readonly number[] {
    return this.workers;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** How it ended ("exit code 1, signal null"), or undefined while it runs. */
  get exitStatus(): string | undefined {
    return this.running ? undefined : `exit code ${this.child.exitCode}, signal ${this.child.signalCode}`;
  }

  /** A crash: SIGKILL, no shutdown. Resolves when the process and its mediasoup workers are gone. */
  kill(): Promise<void> {
    return this.end('SIGKILL');
  }

  /** A clean shutdown (SIGTERM), falling back to SIGKILL after 10 s. */
  stop(): Promise<void> {
    return this.end('SIGTERM');
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    if (this.running) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
        this.child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        this.child.kill(signal);
      });
    }
    // A mediasoup worker exits when its parent's channel closes; wait for it rather than assume.
    const until = Date.now() + 5000;
    while (this.workers.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const left = this.workers.filter(alive);
    if (left.length) throw new Error(`${this.name}: mediasoup workers ${left.join(', ')} outlived their node`);
  }
}
