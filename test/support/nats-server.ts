// Test fixture: the NATS server tests use (TEST_NATS_URL, default the local one), and a private
// nats-server process a test may stop and start again (for the degradation tests). Never skips:
// without NATS the suite fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './free-port.js';

export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A nats-server child process on a fixed free port, restartable on the same port. */
export class PrivateNatsServer {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly args: string[] = [],
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** `args`: extra nats-server flags, e.g. `['--user', 'u', '--pass', 'p']` or `['--auth', token]`. */
  static async start(args: string[] = []): Promise<PrivateNatsServer> {
    const s = new PrivateNatsServer(await freePort(), args);
    await s.resume();
    return s;
  }

  async resume(): Promise<void> {
    if (this.child) return;
    const child = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-a', '127.0.0.1', '-p', String(this.port), ...this.args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let text = '';
      const onData = (b: Buffer) => {
        text += b.toString();
        if (text.includes('Server is ready')) {
          child.stderr?.off('data', onData);
          child.stderr?.resume();
          resolve();
        }
      };
      child.stderr?.on('data', onData);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`nats-server exited (${code}): ${text}`)));
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}
