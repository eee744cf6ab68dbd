import { describe, expect, it } from 'vitest';
import { openStream, parseMetrics, tryHandshake, useStreamProxy } from './lifecycle-harness.js';

// This file's loopback block: 127.0.212.0/24.
const SNI = 'multi.gr7.us-east-1.eks.amazonaws.com';
const OTHER = 'other.gr7.us-east-1.eks.amazonaws.com';
const ctx = useStreamProxy({
  block: '127.0.212',
  hostnames: [SNI, OTHER],
  served: [SNI],
  chunkIntervalMs: 5,
  drainDeadlineSec: 2,
  workers: 2,
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('workers: 2', () => {
  it('shares one port (bound as port 0), serves from both workers, and /metrics adds up over the group', async () => {
    await ctx.proxy.waitReady();
    const listening = ctx.proxy.events.find((e) => e.event === 'listening');
    expect(listening).toMatchObject({ workers: 2, pid: ctx.proxy.pid });
    expect(ctx.proxy.port).toBeGreaterThan(0);

    const N = 20;
    for (let i = 0; i < N; i++) expect(await tryHandshake(ctx.proxy.port, SNI, ctx.pki.caCertPem)).toBe('ok');
    for (let i = 0; i < 3; i++) {
      expect(await tryHandshake(ctx.proxy.port, OTHER, ctx.pki.caCertPem)).toMatch(/UNRECOGNIZED_NAME/);
    }
    while (ctx.proxy.connections().length < N + 3) await new Promise((r) => setTimeout(r, 20));
    const lines = ctx.proxy.connections();
    const pids = new Set(lines.map((l) => l.pid));
    expect(pids.size).toBe(2);
    expect(pids.has(ctx.proxy.pid)).toBe(false);
    const perWorker = [...pids].map((pid) => lines.filter((l) => l.pid === pid).length);
    // SO_REUSEPORT hashes each connection's 4-tuple to a worker: a spread, not strict turns
    // (fewer than 3 of 23 on one worker is a 1 in 15,000 chance).
    expect(Math.min(...perWorker)).toBeGreaterThanOrEqual(3);

    const m = parseMetrics((await ctx.proxy.health('/metrics')).body);
    expect(m.get('ekslink_connections_opened_total')).toBe(N + 3);
    expect(m.get('ekslink_connections_closed_total{route="multi",reason="ok"}')).toBe(N);
    expect(m.get('ekslink_connections_closed_total{route="none",reason="sni_not_allowed"}')).toBe(3);
    expect(m.get('ekslink_connections_active')).toBe(0);
    const bytes = lines.reduce((a, l) => a + (l.bytesFromUpstream as number), 0);
    expect(m.get('ekslink_proxied_bytes_total{route="multi",direction="upstream_to_client"}')).toBe(bytes);
    expect(m.get('ekslink_ready')).toBe(1);
    // Process metrics cover three processes (primary + 2 workers): the group's memory is
    // well above what one process reports.
    expect(m.get('ekslink_process_resident_memory_bytes')).toBeGreaterThan(3 * 20e6);
  });

  it('replaces a worker that dies; the port keeps serving', async () => {
    const before = [...new Set(ctx.proxy.connections().map((l) => l.pid as number))];
    const opened = (): Promise<number | undefined> =>
      ctx.proxy.health('/metrics').then((r) => parseMetrics(r.body).get('ekslink_connections_opened_total'));
    const openedBefore = (await opened()) as number;
    process.kill(before[0] as number, 'SIGKILL');
    const exited = await ctx.proxy.waitFor((e) => e.event === 'worker_exited');
    expect(exited).toMatchObject({ workerPid: before[0], signal: 'SIGKILL', level: 'error' });
    await ctx.proxy.waitFor((e) => e.event === 'worker_replaced' && e.exitedPid === before[0]);
    const seen = ctx.proxy.connections().length;
    // SO_REUSEPORT hashes each connection's 4-tuple to a worker, so a handful of connections
    // can all land on one of them (1 in 32 for six). Connect until both workers have served,
    // bounded: 64 connections all on one worker of two is a 1 in 2^63 chance, not luck.
    const servedBy = (): Set<number> =>
      new Set(
        ctx.proxy
          .connections()
          .slice(seen)
          .map((l) => l.pid as number),
      );
    let made = 0;
    while (made < 64 && servedBy().size < 2) {
      expect(await tryHandshake(ctx.proxy.port, SNI, ctx.pki.caCertPem)).toBe('ok');
      made++;
      while (ctx.proxy.connections().length < seen + made) await new Promise((r) => setTimeout(r, 5));
    }
    const pids = servedBy();
    expect(pids.size).toBe(2);
    expect(pids.has(before[0] as number)).toBe(false);
    expect(pids.has(before[1] as number)).toBe(true);
    // The dead worker's counts stay in the group's totals: counters never go backwards.
    expect(await opened()).toBe(openedBefore + made);
  });

  it('backs off respawning when workers keep dying young, and serves meanwhile', async () => {
    // The worker replaced above is young: killing it is the second quick exit in a row.
    const replaced = ctx.proxy.events.filter((e) => e.event === 'worker_replaced').length;
    const young = ctx.proxy.events.filter((e) => e.event === 'worker_exited').length;
    const pids = [...new Set(ctx.proxy.connections().map((l) => l.pid as number))].filter(alive);
    const newest = pids[pids.length - 1] as number;
    const killedAt = Date.now();
    process.kill(newest, 'SIGKILL');
    const exited = await ctx.proxy.waitFor((e) => e.event === 'worker_exited' && e.workerPid === newest);
    expect(ctx.proxy.events.filter((e) => e.event === 'worker_exited').length).toBe(young + 1);
    expect(exited.respawnInMs).toBe(1000);
    // One worker serves while the other waits to be started again.
    expect(await tryHandshake(ctx.proxy.port, SNI, ctx.pki.caCertPem)).toBe('ok');
    await ctx.proxy.waitFor((e) => e.event === 'worker_replaced' && e.exitedPid === newest);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1000);
    expect(ctx.proxy.events.filter((e) => e.event === 'worker_replaced').length).toBe(replaced + 1);
  });

  it('reloads every worker on SIGHUP, then drains them all and leaves no process behind on SIGTERM', async () => {
    ctx.proxy.rewriteConfig(ctx.config([SNI, OTHER]));
    ctx.proxy.signal('SIGHUP');
    await ctx.proxy.waitFor((e) => e.event === 'config_reloaded');
    await ctx.proxy.waitFor((e) => e.event === 'reloaded');
    for (let i = 0; i < 4; i++)
      expect(await tryHandshake(ctx.proxy.port, OTHER, ctx.pki.caCertPem)).toBe('ok');

    const workerPids = [...new Set(ctx.proxy.connections().map((l) => l.pid as number))];
    const open = await openStream(ctx.proxy.port, SNI, ctx.pki.caCertPem, 1_000_000);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    ctx.proxy.signal('SIGTERM');
    const closedAt = await open.closed;
    expect(closedAt - t0).toBeGreaterThanOrEqual(1900); // the 2 s drain deadline
    expect(await ctx.proxy.exited).toEqual({ code: 0, signal: null });
    for (const pid of workerPids) expect(alive(pid)).toBe(false);
    expect(ctx.proxy.connections().filter((l) => l.reason === 'shutdown')).toHaveLength(1);
  });
});
