/**
 * The benchmark's own machinery: /proc readings of a process tree, medians, and one tiny
 * real run (direct and the naive peer, both kinds of traffic) whose JSON must carry every
 * figure. Not a performance test: no figure is compared with a threshold.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { median, type PeerFigures } from '../../bench/measure.js';
import { parseStat, processTree, sampleTree } from '../../bench/proc-stats.js';
import { medianOfRuns, ratioTable } from '../../bench/report.js';

describe('proc-stats', () => {
  it('counts fields from the last parenthesis, so a command name with spaces and parentheses parses', () => {
    const text = '4242 (node (worker) 1) S 4200 4242 4242 0 -1 4194560 10 0 0 0 150 25 7 3 20 0 11 0';
    expect(parseStat(text)).toEqual({ ppid: 4200, ticks: 150 + 25 + 7 + 3 });
    expect(parseStat('garbage')).toBeUndefined();
  });

  it('reads the CPU of a whole tree: a grandchild burning CPU is counted at the root', async () => {
    // A process whose child spins for 400 ms of its own CPU time, then both wait to be read
    // (killed at the end; the timers only bound them if the test dies first).
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require('node:child_process').spawn(process.execPath, ['-e',
          'while (process.cpuUsage().user < 400000); setTimeout(() => {}, 60000)'], { stdio: 'inherit' });
         setTimeout(() => {}, 60000);`,
      ],
      { stdio: 'ignore' },
    );
    try {
      const pid = child.pid as number;
      const deadline = Date.now() + 30_000;
      let tree = processTree(pid);
      while (tree.length < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        tree = processTree(pid);
      }
      expect(tree[0]).toBe(pid);
      expect(tree.length).toBe(2);
      let s = sampleTree(pid);
      while (s.cpuSec < 0.35 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        s = sampleTree(pid);
      }
      expect(s.processes).toBe(2);
      expect(s.cpuSec).toBeGreaterThanOrEqual(0.35);
      expect(s.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    } finally {
      child.kill('SIGKILL');
      for (const pid of processTree(child.pid as number).slice(1)) process.kill(pid, 'SIGKILL');
    }
  });
});

describe('report', () => {
  it('takes medians per figure across runs and ratios ekslink to each peer', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const peer = (name: string, cpu: number, rss: number): PeerFigures => ({
      peer: name,
      idleRssMiB: rss,
      rssAfterLoadMiB: rss,
      processes: 1,
      errors: [],
      kinds: {
        tls: {
          cpuUsPerConnection: cpu,
          cpuSecPerGb: 1,
          cpuSecPerGbDown: 1,
          connectionsPerSec: 100,
          mibPerSec: 100,
          newConnectionMs: 1,
          newConnectionAddedMs: 0.1,
          hopUs: 50,
          hopAddedUs: 10,
          dnsQueriesPerConnection: 1,
          rssMiBPer10kIdle: 100,
          idleHeld: 1000,
          failed: 0,
        },
      },
    });
    const merged = medianOfRuns([
      [peer('ekslink', 500, 80), peer('nginx', 150, 20)],
      [peer('ekslink', 700, 90), peer('nginx', 160, 30)],
      [peer('ekslink', 600, 70), peer('nginx', 100, 25)],
    ]);
    expect(merged.map((p) => [p.peer, p.kinds.tls?.cpuUsPerConnection, p.idleRssMiB])).toEqual([
      ['ekslink', 600, 80],
      ['nginx', 150, 25],
    ]);
    expect(ratioTable(merged, ['tls'])).toMatch(
      /\| ekslink ÷ nginx +\| 4\.00x +\| 1\.00x +\| 1\.00x +\| 3\.20x /,
    );
  });
});

describe('npm run bench, tiny', () => {
  it('measures direct and the naive peer in both kinds of traffic and writes every figure', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ekslink-bench-test-'));
    const json = join(dir, 'run.json');
    try {
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            'bench/run.ts',
            ...[
              '--peers',
              'direct,naive',
              '--repeat',
              '1',
              '--phase-ms',
              '300',
              '--warmup',
              '20',
              '--warmup-jit',
              '20',
            ],
            ...['--idle', '50', '--idle-tls', '20', '--latency-connections', '10', '--round-trips', '20'],
            ...['--bulk-mib', '4', '--bulk-rounds', '1', '--bulk-concurrency', '1', '--json', json],
          ],
          { stdio: ['ignore', 'ignore', 'inherit'] },
        );
        child.on('exit', resolve);
      });
      expect(code).toBe(0);
      const run = JSON.parse(await readFile(json, 'utf8')) as { peers: PeerFigures[] };
      expect(run.peers.map((p) => p.peer)).toEqual(['direct', 'naive']);
      const naive = run.peers[1]!;
      expect(naive.idleRssMiB).toBeGreaterThan(10);
      for (const kind of ['tls', 'plain'] as const) {
        const k = naive.kinds[kind]!;
        expect(k.failed).toBe(0);
        expect(k.cpuUsPerConnection).toBeGreaterThan(0);
        // A few MiB may take less than one clock tick: a number, not necessarily above zero.
        expect(k.cpuSecPerGb).toBeTypeOf('number');
        expect(k.cpuSecPerGbDown).toBeTypeOf('number');
        expect(k.idleHeld).toBe(kind === 'tls' ? 20 : 50);
        expect(k.rssMiBPer10kIdle).toBeTypeOf('number');
        expect(k.newConnectionAddedMs).toBeTypeOf('number');
        expect(k.hopAddedUs).toBeTypeOf('number');
        // The naive proxy caches by TTL (1 s): some queries, far fewer than connections.
        expect(k.dnsQueriesPerConnection).toBeLessThan(1);
      }
      expect(run.peers[0]!.kinds.tls!.cpuUsPerConnection).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
