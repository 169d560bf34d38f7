// A private redis-server process for tests that kill it or need it to require a password: no
// persistence (killed, it comes back empty, as Redis runs in the distributed deployment), on a
// fixed free port so it can come back where the nodes expect it. The owner kills it.
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { waitFor } from './onair-node.js';

export class PrivateRedis {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly password: string | undefined,
  ) {}

  /** `password`: the server requires it (requirepass). */
  static async start(options: { password?: string } = {}): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort(), options.password);
    await r.resume();
    return r;
  }

  get url(): string {
    return this.password ? `redis://:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}` : `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (again, empty) on its port and waits until it answers. */
  async resume(): Promise<void> {
    if (this.child) return;
    const auth = this.password ? ['--requirepass', this.password] : [];
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...auth], {
      stdio: 'ignore',
    });
    const probe = new Redis({ port: this.port, password: this.password, lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => {});
    await waitFor(
      'redis-server to answer',
      () =>
        probe.connect().then(
          () => true,
          () => false,
        ),
      5000,
    );
    probe.disconnect();
  }

  /** SIGKILL: everything it held is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}
