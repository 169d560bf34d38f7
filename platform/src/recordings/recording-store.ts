// Where recorded media lives: a flat namespace of objects under keys such as
// `broadcasts/<id>/720p/12.m4s`. The one storage interface recordings and clips use, so that object
// storage (S3 and the like) can be added next to the filesystem without touching callers: an object
// appears whole or not at all (put is atomic), keys are checked here, and nothing outside this module
// builds a path. Never serves HTTP and never knows what a broadcast is.
import { randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';

/** One path segment of a key: letters, digits, '_', '-', '.', not starting with '.' (no traversal, no temp names). */
const KEY_PART = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;
/** Files being written carry this prefix until they are renamed into place; never listed or read. */
const TEMP_PREFIX = '.tmp-';

export function isValidKey(key: string): boolean {
  const parts = key.split('/');
  return parts.length >= 1 && parts.length <= 8 && parts.every((p) => KEY_PART.test(p));
}

export interface RecordingStore {
  /** 'filesystem' for logs and docs. */
  readonly kind: string;
  /** Writes `bytes` under `key` so that readers see all of it or nothing (replaces an existing object). */
  put(key: string, bytes: Buffer): Promise<void>;
  /** The object's bytes, or undefined when there is none. */
  get(key: string): Promise<Buffer | undefined>;
  /** The object as a stream with its size, or undefined (for large objects such as clip MP4s). */
  open(key: string): Promise<{ size: number; stream: ReadStream } | undefined>;
  /** Names directly under `prefix` (objects and "folders"), complete objects only, unsorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes every object under `prefix` (and the object `prefix` itself); no error when absent. */
  deletePrefix(prefix: string): Promise<void>;
  /** Bytes held under `prefix` (everything when empty). */
  usageBytes(prefix?: string): Promise<number>;
}

/** The default store: files under one directory (RECORDINGS_DIR), shared by every node in distributed mode. */
export class FileRecordingStore implements RecordingStore {
  readonly kind = 'filesystem';
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private path(key: string): string {
    if (!isValidKey(key)) throw new RangeError(`bad recording key ${JSON.stringify(key)}`);
    const p = join(this.root, ...key.split('/'));
    if (!p.startsWith(this.root + sep)) throw new RangeError(`bad recording key ${JSON.stringify(key)}`);
    return p;
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    const target = this.path(key);
    const dir = target.slice(0, target.lastIndexOf(sep));
    await mkdir(dir, { recursive: true });
    // Write under a temporary name, flush, then rename: a crash (SIGKILL, power loss) leaves either
    // the whole object or a temp file nobody lists, never a half-written segment under its name.
    const temp = join(dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
    const fh = await open(temp, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.datasync();
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(temp).catch(() => {});
      throw err;
    }
    await fh.close();
    try {
      await rename(temp, target);
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw err;
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async open(key: string): Promise<{ size: number; stream: ReadStream } | undefined> {
    const p = this.path(key);
    try {
      const s = await stat(p);
      if (!s.isFile()) return undefined;
      return { size: s.size, stream: createReadStream(p) };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    try {
      const names = await readdir(this.path(prefix));
      return names.filter((n) => !n.startsWith('.'));
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw err;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.path(prefix), { recursive: true, force: true });
  }

  async usageBytes(prefix = ''): Promise<number> {
    const start = prefix ? this.path(prefix) : this.root;
    let total = 0;
    const walk = async (p: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(p, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return;
        if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') {
          total += (await stat(p)).size;
          return;
        }
        throw err;
      }
      for (const e of entries) {
        const child = join(p, e.name);
        if (e.isDirectory()) await walk(child);
        else if (e.isFile()) total += (await stat(child).catch(() => ({ size: 0 }))).size;
      }
    };
    await walk(start);
    return total;
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}
