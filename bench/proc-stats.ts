/**
 * CPU time and resident memory of a whole process tree, read from /proc: a peer is its
 * process plus every live descendant (ekslink's cluster workers, nginx's workers), so a
 * proxy that forks pays for its forks. CPU is utime + stime (+ the cutime + cstime of
 * children already reaped, so a worker that exits mid-phase is not lost).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface TreeSample {
  /** CPU seconds (user + system) the tree has used since each process started. */
  readonly cpuSec: number;
  /** Sum of VmRSS over the tree, bytes (shared pages count once per process). */
  readonly rssBytes: number;
  /** How many processes the tree had. */
  readonly processes: number;
}

function getconf(name: string, fallback: number): number {
  try {
    const n = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isInteger(n) && n > 0 ? n : fallback;
  } catch {
    return fallback;
  }
}

const CLOCK_TICKS = getconf('CLK_TCK', 100);
const PAGE_BYTES = getconf('PAGESIZE', 4096);

interface StatFields {
  readonly ppid: number;
  readonly ticks: number;
}

/**
 * The fields of /proc/PID/stat we need. The command name sits in parentheses and may hold
 * spaces or parentheses itself, so fields are counted from the last ')'.
 */
export function parseStat(text: string): StatFields | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ')': state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
  const f = text
    .slice(close + 2)
    .trim()
    .split(' ');
  if (f.length < 15) return undefined;
  const n = (i: number) => Number(f[i]);
  const ticks = n(11) + n(12) + n(13) + n(14);
  if (!Number.isFinite(ticks) || !Number.isInteger(n(1))) return undefined;
  return { ppid: n(1), ticks };
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // The process exited between the directory listing and the read.
    return undefined;
  }
}

/** The pid and every live descendant of it. */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const text = readOrUndefined(`/proc/${pid}/stat`);
    const stat = text === undefined ? undefined : parseStat(text);
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(pid);
    children.set(stat.ppid, list);
  }
  const tree: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** One reading of the tree rooted at `rootPid`; throws if the root itself is gone. */
export function sampleTree(rootPid: number): TreeSample {
  let ticks = 0;
  let pages = 0;
  let processes = 0;
  for (const pid of processTree(rootPid)) {
    const stat = readOrUndefined(`/proc/${pid}/stat`);
    const statm = readOrUndefined(`/proc/${pid}/statm`);
    const parsed = stat === undefined ? undefined : parseStat(stat);
    if (!parsed || statm === undefined) {
      if (pid === rootPid) throw new Error(`process ${rootPid} is gone: cannot read its /proc entry`);
      continue;
    }
    ticks += parsed.ticks;
    pages += Number(statm.split(' ')[1] ?? 0);
    processes += 1;
  }
  return { cpuSec: ticks / CLOCK_TICKS, rssBytes: pages * PAGE_BYTES, processes };
}

/** The resolution of cpuSec (one clock tick). */
export const CPU_RESOLUTION_SEC = 1 / CLOCK_TICKS;
