// Supervises the ffmpeg process of one stream's ladder: spawns it, hands its CMAF and poster bytes
// to callbacks, restarts it with exponential backoff when it dies (telling the caller first, so the
// packager marks a discontinuity), gives up after repeated failures that produced no media, and
// kills it when stopped. ffmpeg is started under `setpriv --pdeathsig KILL` so it dies with this
// process even on SIGKILL, and every live child is killed on process exit: never orphaned.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Logger } from '@onair/platform';
import type { LadderCommand } from './ffmpeg-args.js';

export interface LadderEncoderHooks {
  /** A CMAF chunk of track `track` (video renditions in ladder order, then audio). */
  media(track: number, chunk: Buffer): void;
  poster(chunk: Buffer): void;
  /** A new ffmpeg process is about to write; `restart` is false for the first one. */
  spawned(restart: boolean): void;
  /** Gave up: ffmpeg kept failing before producing media. */
  failed(reason: string): void;
}

export interface LadderEncoderOptions {
  ffmpegPath: string;
  /** Consecutive runs that die before producing media before giving up. */
  maxFailures: number;
  backoffMs: number;
  maxBackoffMs: number;
}

const SETPRIV = '/usr/bin/setpriv';
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
}

export class LadderEncoder {
  private child: ChildProcess | undefined;
  private stopped = false;
  private failures = 0;
  private runs = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly command: LadderCommand,
    private readonly hooks: LadderEncoderHooks,
    private readonly opts: LadderEncoderOptions,
    private readonly log: Logger,
  ) {
    killAllOnExit();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.stopped || this.child) return;
    const restart = this.runs++ > 0;
    const usePdeathsig = existsSync(SETPRIV);
    const file = usePdeathsig ? SETPRIV : this.opts.ffmpegPath;
    const argv = usePdeathsig ? ['--pdeathsig', 'KILL', '--', this.opts.ffmpegPath, ...this.command.args] : this.command.args;
    const stdio: ('ignore' | 'pipe')[] = ['ignore', 'ignore', 'pipe', ...Array.from({ length: this.command.pipes }, () => 'pipe' as const)];
    const child = spawn(file, argv, { stdio });
    this.child = child;
    children.add(child);
    this.hooks.spawned(restart);
    let producedMedia = false;
    let stderrTail = '';
    (child.stderr as Readable).setEncoding('utf8').on('data', (d: string) => (stderrTail = (stderrTail + d).slice(-2000)));
    const tracks = [...this.command.videoFds, ...(this.command.audioFd !== undefined ? [this.command.audioFd] : [])];
    tracks.forEach((fd, track) => {
      (child.stdio[fd] as Readable).on('data', (chunk: Buffer) => {
        producedMedia = true;
        if (this.child === child) this.hooks.media(track, chunk);
      });
    });
    if (this.command.posterFd !== undefined) {
      (child.stdio[this.command.posterFd] as Readable).on('data', (chunk: Buffer) => {
        if (this.child === child) this.hooks.poster(chunk);
      });
    }
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        this.log.error({ err, ffmpeg: this.opts.ffmpegPath }, 'ffmpeg could not be started');
      });
      child.once('close', (code, signal) => {
        children.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
        if (this.stopped) return;
        this.failures = producedMedia ? 0 : this.failures + 1;
        const reason = stderrTail.trim().split('\n').slice(-3).join(' | ') || `exit ${code ?? signal}`;
        if (this.failures >= this.opts.maxFailures) {
          this.log.error({ code, signal, stderr: stderrTail.slice(-500) }, 'ffmpeg keeps failing; HLS/DASH for this stream stopped');
          this.stopped = true;
          this.hooks.failed(reason);
          return;
        }
        const delay = Math.min(this.opts.maxBackoffMs, this.opts.backoffMs * 2 ** Math.max(0, this.failures - 1));
        this.log.warn({ code, signal, delayMs: delay, stderr: stderrTail.slice(-500) }, 'ffmpeg exited; restarting');
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined;
          this.start();
        }, delay);
      });
    });
  }

  /** Kills ffmpeg (SIGTERM, then SIGKILL after 2 s) and resolves once it has exited. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(force);
  }
}
