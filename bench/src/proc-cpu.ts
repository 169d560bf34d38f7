// CPU time read from Linux's /proc: a process's user+system seconds (utime+stime of /proc/<pid>/stat)
// and the whole machine's busy and total jiffies (/proc/stat); also the kernel's count of UDP
// datagrams dropped for full receive buffers (/proc/net/snmp). Used to charge the mediasoup worker's
// CPU to the packets it forwards and to show how busy the shared cores were meanwhile.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU seconds (user + system) a process has used since it started. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export interface MachineTicks {
  busy: number;
  total: number;
}

/** Jiffies of all cores since boot: busy (everything but idle and iowait) and total. */
export function machineTicks(): MachineTicks {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3]! - v[4]!, total };
}

/** Share of the whole machine (0..1) that was busy between two readings. */
export function machineBusyShare(a: MachineTicks, b: MachineTicks): number {
  return (b.busy - a.busy) / Math.max(1, b.total - a.total);
}

/** Machine-wide count of UDP datagrams dropped because a socket's receive buffer was full (Udp RcvbufErrors). */
export function udpReceiveBufferErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const at = names.indexOf('RcvbufErrors');
  return at > 0 ? Number(values[at]) : NaN;
}

/** UDP datagrams dropped so far on the sockets a process holds (the `drops` column of /proc/net/udp). */
export function processUdpDrops(pid: number): number {
  const dropsByInode = new Map<string, number>();
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 13) dropsByInode.set(f[9]!, Number(f[12]));
    }
  }
  let drops = 0;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        if (inode) drops += dropsByInode.get(inode) ?? 0;
      } catch {
        // the fd closed meanwhile
      }
    }
  } catch {
    return NaN; // the process is gone
  }
  return drops;
}

/**
 * CPU seconds (user + system) of this process's threads whose name starts with `prefix` (from
 * /proc/self/task/<tid>/stat), e.g. `libuv-worke` for the libuv threadpool that runs file I/O.
 */
export function threadsCpuSeconds(prefix: string): number {
  let total = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (!name.startsWith(prefix)) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    } catch {
      // the thread ended meanwhile
    }
  }
  return total;
}
