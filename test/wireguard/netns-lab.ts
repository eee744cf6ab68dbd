/**
 * Network namespaces for one test run: created with unique names, every one removed again
 * (processes inside ended by pid first), even when the test fails half way.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { missingCommandsReason } from '../system-tools.js';

const execFileP = promisify(execFile);

/** The commands the namespace tests run: wg-quick brings the tunnel up with wireguard-go. */
export const NETNS_TOOLS = ['ip', 'nft', 'wg', 'wg-quick', 'wireguard-go'] as const;

/** Why the namespace tests cannot run here, or undefined when they can. */
export function netnsUnavailableReason(tools: readonly string[] = NETNS_TOOLS): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (network namespaces and WireGuard need root)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun (wireguard-go needs a TUN device)';
  return missingCommandsReason(tools);
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export async function sh(
  file: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): Promise<ExecResult> {
  try {
    return await execFileP(file, args, { timeout: 20_000, env: { ...process.env, ...env } });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

export class NetnsLab {
  /** Short and unique per run: interface names must fit in 15 characters. */
  readonly id = randomBytes(3).toString('hex');
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly cleanups: (() => Promise<unknown>)[] = [];
  private readonly files: string[] = [];

  name(role: string): string {
    return `ekl${this.id}${role}`;
  }

  async addNamespace(role: string): Promise<string> {
    const ns = `ekslink-test-${this.id}-${role}`;
    await sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A veth pair between two namespaces, each end with an address and up. */
  async link(
    a: { ns: string; ifname: string; cidr: string },
    b: { ns: string; ifname: string; cidr: string },
  ) {
    await sh('ip', [
      'link',
      'add',
      a.ifname,
      'netns',
      a.ns,
      'type',
      'veth',
      'peer',
      'name',
      b.ifname,
      'netns',
      b.ns,
    ]);
    for (const end of [a, b]) {
      await sh('ip', ['-n', end.ns, 'addr', 'add', end.cidr, 'dev', end.ifname]);
      await sh('ip', ['-n', end.ns, 'link', 'set', end.ifname, 'up']);
    }
  }

  exec(ns: string, file: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<ExecResult> {
    return sh('ip', ['netns', 'exec', ns, file, ...args], env);
  }

  /** A long-running process inside a namespace; killed by pid at cleanup. */
  spawnIn(ns: string, file: string, args: readonly string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, file, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  /** Run at cleanup before the namespaces go (e.g. `wg-quick down`); errors are ignored. */
  onCleanup(fn: () => Promise<unknown>): void {
    this.cleanups.push(fn);
  }

  /** A file or directory removed at cleanup (temp dirs, a userspace WireGuard's UAPI socket). */
  removeAtCleanup(path: string): void {
    this.files.push(path);
  }

  async cleanup(): Promise<void> {
    for (const fn of this.cleanups.reverse()) await fn().catch(() => undefined);
    for (const child of this.children) if (child.exitCode === null) child.kill('SIGTERM');
    for (const ns of this.namespaces) {
      // Anything still running in our namespace was started by this test (wireguard-go
      // daemonised by wg-quick, say): end it by pid, or it would keep the namespace alive.
      const pids = await sh('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }));
      for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    for (const ns of this.namespaces) await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
    for (const path of this.files) await rm(path, { recursive: true, force: true }).catch(() => undefined);
  }
}
