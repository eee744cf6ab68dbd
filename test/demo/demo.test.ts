/**
 * `ekslink demo` end to end: the built CLI, the real proxy child, the real kubectl, run
 * non-interactively (stdout is a pipe) with short durations.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingCommandsReason, requireHere } from '../system-tools.js';
import { buildCliTo } from './build-cli.js';

let buildDir: string;
let cli: string;

beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'ekslink-demo-cli-'));
  cli = await buildCliTo(buildDir);
});
afterAll(async () => {
  await rm(buildDir, { recursive: true, force: true });
});

interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runDemo(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; interruptAfterMs?: number } = {},
): Promise<DemoRun> {
  return new Promise((resolve) => {
    // Its own process group, so an interrupt can go to the whole group as a terminal's Ctrl-C does.
    const child = spawn(process.execPath, [cli, 'demo', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.interruptAfterMs
      ? setTimeout(() => signalGroup(child.pid, 'SIGINT'), opts.interruptAfterMs)
      : undefined;
    const hardStop = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 55_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      clearTimeout(hardStop);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Signals the demo's process group (the demo itself; its children have groups of their own). */
function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  try {
    if (pid) process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** The numbers the summary states. */
function summaryOf(stdout: string) {
  const num = (re: RegExp): number => {
    const m = re.exec(stdout);
    if (!m) throw new Error(`summary line ${re} missing from:\n${stdout}`);
    return Number(m[1]);
  };
  return {
    ok: num(/^requests +\d+ total, (\d+) ok/m),
    failed: num(/^requests +\d+ total, \d+ ok, (\d+) failed/m),
    enisServed: num(/^ENIs served +(\d+):/m),
    rotations: num(/^rotations +(\d+)$/m),
    watchEvents: num(/^watch +\d+ streams opened, (\d+) events/m),
    watchFailedOpens: num(/^watch .*, (\d+) failed opens$/m),
  };
}

/** Pids whose command line mentions `text` (kubectl children carry the run's temp dir). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('ekslink demo', () => {
  it('keeps kubectl working through ENI rotations via the proxy: zero failures, several ENIs, at least two rotations', async () => {
    requireHere(missingCommandsReason(['kubectl']), 'the demo through kubectl');
    const run = await runDemo(['--duration', '8s']);
    const s = summaryOf(run.stdout);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain('client         kubectl -> server https://127.0.0.1:');
    expect(run.stdout).toMatch(/metrics +http:\/\/127\.0\.0\.1:\d+\/metrics/);
    expect(s.failed, run.stdout).toBe(0);
    expect(s.ok).toBeGreaterThanOrEqual(10);
    expect(s.rotations).toBeGreaterThanOrEqual(2);
    expect(s.enisServed).toBeGreaterThan(1);
    expect(s.watchEvents).toBeGreaterThan(0);
    expect(s.watchFailedOpens).toBe(0);
    expect(run.stdout).toMatch(/^PASS: every request succeeded through \d+ ENI rotations$/m);
    // The proxy's own account agrees: a connection per request (plus watch streams), none failed upstream.
    const opened = Number(/^proxy connections (\d+) opened/m.exec(run.stdout)?.[1]);
    expect(opened).toBeGreaterThanOrEqual(s.ok);
    // Not a terminal: no cursor movement, and a handful of lines, not a progress stream.
    expect(run.stdout).not.toContain('\x1b[');
    expect(run.stdout.split('\n').length).toBeLessThan(60);
  });

  it('without the proxy, the pinned client fails once its ENI is rotated out, and the demo exits non-zero', async () => {
    const run = await runDemo(['--duration', '8s', '--no-proxy']);
    const s = summaryOf(run.stdout);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('NO PROXY       the client is pinned to 127.0.10.1');
    expect(s.failed).toBeGreaterThan(0);
    expect(s.ok).toBeGreaterThan(0);
    expect(s.enisServed).toBe(1);
    expect(s.rotations).toBeGreaterThanOrEqual(2);
    expect(run.stdout).toMatch(/^first failure at +[2-7]\.\d s$/m);
    expect(run.stdout).toMatch(/^EXPECTED FAILURE without ekslink/m);
  });

  it('falls back to the built-in client when kubectl is not on PATH, and still passes', async () => {
    const nodeDir = dirname(process.execPath);
    const run = await runDemo(['--duration', '5s', '--rate', '5'], {
      env: { ...process.env, PATH: nodeDir },
    });
    const s = summaryOf(run.stdout);
    expect(run.stdout).toContain('kubectl was not found on PATH: using the built-in HTTPS client');
    expect(run.stdout).toContain('client: builtin');
    expect(run.code).toBe(0);
    expect(s.failed, run.stdout).toBe(0);
    expect(s.enisServed).toBeGreaterThan(1);
  });

  it('Ctrl-C stops early and cleans up: the proxy child, the ENI listeners and the temp dir are gone', async () => {
    const run = await runDemo(['--duration', '60s'], { interruptAfterMs: 3000 });
    expect(run.code).toBe(130);
    expect(run.stdout).toMatch(/^interrupted: cleaned up and stopped early$/m);
    // The interrupt reached the demo, not its kubectl children: requests in flight completed.
    expect(summaryOf(run.stdout).failed, run.stdout).toBe(0);
    const pid = Number(/\(pid (\d+), config /.exec(run.stdout)?.[1]);
    const configPath = /config (\S+proxy\.yaml)\)/.exec(run.stdout)?.[1] ?? '';
    const port = Number(/amazonaws\.com:(\d+) on /.exec(run.stdout)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(existsSync(dirname(configPath))).toBe(false);
    expect(processesMentioning(dirname(configPath))).toEqual([]);
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.10.1');
      s.on('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('refuses bad flags with the value and a fix', async () => {
    const run = await runDemo(['--rate', '0', '--duration', 'soon']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/duration: must be a duration like 30s, 2m or 8000ms \(got "soon"\)/);
    expect(run.stderr).toMatch(/rate: must be at least 1 request per second/);
  });
});
