/**
 * The phases run against one peer, and the figures they give. CPU is the peer's whole
 * process tree, read from /proc before and after a phase; the load client runs in its own
 * process, so its CPU is not counted. Each CPU and latency phase is repeated and the median
 * kept, because the machine is shared and any one reading can be disturbed.
 *
 * Over 300 lines: every phase of one peer's measurement in the order it runs, sharing the
 * waits that keep one phase's tail off the next one's reading.
 */
import type { TestDnsServer } from '../standins/dns-server.js';
import type { LoadResult, LoadSpec } from './load-client.js';
import type { LoadClient } from './load-process.js';
import type { Peer, TrafficKind } from './peers.js';
import { sampleTree, type TreeSample } from './proc-stats.js';

export interface BenchSettings {
  readonly kinds: readonly TrafficKind[];
  readonly repeat: number;
  readonly phaseMs: number;
  readonly concurrency: number;
  readonly maxConnections: number;
  readonly bulkBytes: number;
  readonly bulkConcurrency: number;
  readonly bulkRounds: number;
  readonly latencyConnections: number;
  readonly roundTrips: number;
  /** Connections per kind before anything is measured (JIT, caches, pools). */
  readonly warmupConnections: number;
  /**
   * Connections per kind after the memory figures, before the CPU and latency phases: V8
   * optimizes a function with TurboFan after ~3,000 calls (`--invocation-count-for-turbofan`),
   * and a Node proxy's per-connection code runs once a connection, so a short warm-up
   * measures it half-compiled; a proxy in service is past that within minutes.
   */
  readonly jitWarmupConnections: number;
  /** Idle connections held per kind, for RSS per connection. */
  readonly idle: Readonly<Record<TrafficKind, number>>;
}

export interface BenchContext {
  readonly settings: BenchSettings;
  /** Progress lines (phase by phase) go here. */
  readonly progress: (line: string) => void;
  readonly dns: TestDnsServer;
  /** The load generator process (its CPU is not the peer's). */
  readonly load: LoadClient;
  readonly helloBase64: Readonly<Record<TrafficKind, string>>;
  readonly tls: { readonly servername: string; readonly caPem: string };
  /** The no-proxy peer, measured back to back with each peer for added latency. */
  readonly direct: Peer;
  /** Connections open at the upstreams now (to see closes have gone all the way through). */
  readonly upstreamConnections: () => number;
}

/** The figures of one kind of traffic through one peer (medians over the repetitions). */
export interface KindFigures {
  /** Peer CPU (process tree) per connection in the rate phase; undefined without a process. */
  readonly cpuUsPerConnection: number | undefined;
  /** Peer CPU per 10^9 payload bytes relayed client to upstream (the bulk phase). */
  readonly cpuSecPerGb: number | undefined;
  /** The same upstream to client (the download phase: list and watch responses). */
  readonly cpuSecPerGbDown: number | undefined;
  readonly connectionsPerSec: number;
  readonly mibPerSec: number;
  /** Median time from connect to the whole first answer, one connection at a time. */
  readonly newConnectionMs: number;
  /** newConnectionMs minus direct's, measured right before. */
  readonly newConnectionAddedMs: number | undefined;
  /** Median round trip of a 64-byte echo on an open connection. */
  readonly hopUs: number;
  readonly hopAddedUs: number | undefined;
  readonly dnsQueriesPerConnection: number;
  /** Peer RSS growth per 10,000 idle connections held open (scaled from `idleHeld`). */
  readonly rssMiBPer10kIdle: number | undefined;
  readonly idleHeld: number;
  readonly failed: number;
}

export interface PeerFigures {
  readonly peer: string;
  /** Process-tree RSS after start and a short warm-up, with no connection open. */
  readonly idleRssMiB: number | undefined;
  /** Process-tree RSS once every phase is over and its connections closed. */
  readonly rssAfterLoadMiB: number | undefined;
  readonly processes: number | undefined;
  readonly kinds: Partial<Record<TrafficKind, KindFigures>>;
  /** Every failure message seen (first per phase), for the report. */
  readonly errors: readonly string[];
}

const MiB = 1024 * 1024;
const SETTLE_MS = 1000;
/** Quiet: the peer used at most this much CPU over QUIET_WINDOW_MS. */
const QUIET_CPU_SEC = 0.02;
const QUIET_WINDOW_MS = 300;
const QUIET_MAX_MS = 15_000;
/** Bound of the JIT warm-up per kind (4,000 TLS handshakes at the rate phase's concurrency take ~13 s here). */
const JIT_WARMUP_MAX_MS = 30_000;
/**
 * Upstream connections that may stay open in a settled state: a health probe's TCP connect
 * to the TLS upstream shows there until the handshake timeout (ekslink probes every 5 s).
 */
const SETTLED_UPSTREAM_CONNECTIONS = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function sample(peer: Peer): TreeSample | undefined {
  return peer.pid === undefined ? undefined : sampleTree(peer.pid);
}

function spec(ctx: BenchContext, peer: Peer, kind: TrafficKind, load: Partial<LoadSpec>): LoadSpec {
  const s = ctx.settings;
  return {
    host: peer.host,
    port: peer.portFor(kind),
    mode: 'rate',
    tls: kind === 'tls' ? ctx.tls : undefined,
    helloBase64: ctx.helloBase64[kind],
    concurrency: s.concurrency,
    maxConnections: s.maxConnections,
    durationMs: s.phaseMs,
    bulkBytes: s.bulkBytes,
    roundTrips: s.roundTrips,
    ...load,
  };
}

/**
 * Waits (bounded) until the last phase's connections are closed at the upstream and the
 * peer has stopped spending CPU on them, so one phase's tail is not billed to the next.
 */
async function settle(ctx: BenchContext, peer: Peer): Promise<void> {
  const deadline = performance.now() + QUIET_MAX_MS;
  while (ctx.upstreamConnections() > SETTLED_UPSTREAM_CONNECTIONS && performance.now() < deadline) {
    await sleep(50);
  }
  let last = sample(peer);
  while (last && performance.now() < deadline) {
    await sleep(QUIET_WINDOW_MS);
    const now = sample(peer);
    if (!now || now.cpuSec - last.cpuSec <= QUIET_CPU_SEC) return;
    last = now;
  }
}

/** Runs a load phase and reads the peer's CPU and the DNS server's query count around it. */
async function withCpu(
  ctx: BenchContext,
  peer: Peer,
  load: LoadSpec,
): Promise<{ result: LoadResult; cpuSec: number | undefined; dnsQueries: number }> {
  await settle(ctx, peer);
  const queriesBefore = ctx.dns.queryCount();
  const before = sample(peer);
  const result = await ctx.load.run(load);
  const after = sample(peer);
  return {
    result,
    cpuSec: before && after ? after.cpuSec - before.cpuSec : undefined,
    dnsQueries: ctx.dns.queryCount() - queriesBefore,
  };
}

interface Repetition {
  cpuUsPerConnection?: number;
  cpuSecPerGb?: number;
  cpuSecPerGbDown?: number;
  connectionsPerSec: number;
  mibPerSec: number;
  newConnectionMs: number;
  newConnectionAddedMs?: number;
  hopUs: number;
  hopAddedUs?: number;
  dnsQueriesPerConnection: number;
  failed: number;
}

async function repetition(
  ctx: BenchContext,
  peer: Peer,
  kind: TrafficKind,
  errors: string[],
): Promise<Repetition> {
  const s = ctx.settings;
  const note = (phase: string, r: LoadResult) => {
    if (r.firstError !== undefined)
      errors.push(`${kind} ${phase}: ${r.failed} failed, first: ${r.firstError}`);
    return r.failed;
  };
  let failed = 0;
  const step = (phase: string) => ctx.progress(`${peer.name} ${kind} ${phase}`);

  step('rate');
  const rate = await withCpu(ctx, peer, spec(ctx, peer, kind, {}));
  failed += note('rate', rate.result);
  // Bulk (client to upstream) and download (upstream to client): the same sizes each way.
  const transfer = async (mode: 'bulk' | 'download') => {
    step(mode);
    const phase = await withCpu(
      ctx,
      peer,
      spec(ctx, peer, kind, {
        mode,
        concurrency: s.bulkConcurrency,
        maxConnections: s.bulkConcurrency * s.bulkRounds,
        durationMs: Math.max(s.phaseMs, 30_000),
      }),
    );
    failed += note(mode, phase.result);
    const gb = phase.result.bytes / 1e9;
    return { ...phase, cpuSecPerGb: phase.cpuSec === undefined || gb === 0 ? undefined : phase.cpuSec / gb };
  };
  const bulk = await transfer('bulk');
  const download = await transfer('download');

  step('latency');
  await settle(ctx, peer);
  // Unloaded: one connection at a time, direct then the peer, back to back.
  const latency = { concurrency: 1, maxConnections: s.latencyConnections, durationMs: s.phaseMs };
  const isDirect = peer === ctx.direct;
  const directNew = isDirect ? undefined : await ctx.load.run(spec(ctx, ctx.direct, kind, latency));
  const peerNew = await ctx.load.run(spec(ctx, peer, kind, latency));
  failed += note('latency', peerNew);
  const pingpong = { mode: 'pingpong' as const, concurrency: 1, durationMs: s.phaseMs };
  const directHop = isDirect ? undefined : await ctx.load.run(spec(ctx, ctx.direct, kind, pingpong));
  const peerHop = await ctx.load.run(spec(ctx, peer, kind, pingpong));
  failed += note('keep-alive hop', peerHop);

  return {
    cpuUsPerConnection:
      rate.cpuSec === undefined || rate.result.completed === 0
        ? undefined
        : (rate.cpuSec * 1e6) / rate.result.completed,
    cpuSecPerGb: bulk.cpuSecPerGb,
    cpuSecPerGbDown: download.cpuSecPerGb,
    connectionsPerSec: (rate.result.completed / rate.result.elapsedMs) * 1000,
    mibPerSec: bulk.result.bytes / MiB / (bulk.result.elapsedMs / 1000),
    newConnectionMs: peerNew.latencyP50Ms,
    newConnectionAddedMs: directNew && peerNew.latencyP50Ms - directNew.latencyP50Ms,
    hopUs: peerHop.latencyP50Ms * 1000,
    hopAddedUs: directHop && (peerHop.latencyP50Ms - directHop.latencyP50Ms) * 1000,
    dnsQueriesPerConnection: rate.result.completed > 0 ? rate.dnsQueries / rate.result.completed : 0,
    failed,
  };
}

/** RSS growth of the peer per 10,000 idle connections held through it. */
async function idleRss(
  ctx: BenchContext,
  peer: Peer,
  kind: TrafficKind,
  errors: string[],
): Promise<{ perTenThousandMiB: number | undefined; held: number; failed: number }> {
  const count = ctx.settings.idle[kind];
  // Nothing to measure without a process (direct).
  if (count === 0 || peer.pid === undefined) return { perTenThousandMiB: undefined, held: 0, failed: 0 };
  ctx.progress(`${peer.name} ${kind} idle x${count}`);
  await settle(ctx, peer);
  const before = sample(peer);
  const held = await ctx.load.hold(
    spec(ctx, peer, kind, { concurrency: 64, maxConnections: count, durationMs: 60_000 }),
  );
  try {
    if (held.opened.firstError !== undefined)
      errors.push(`${kind} idle: ${held.opened.failed} failed, first: ${held.opened.firstError}`);
    await sleep(SETTLE_MS);
    const during = sample(peer);
    const n = held.opened.completed;
    return {
      perTenThousandMiB:
        before && during && n > 0 ? ((during.rssBytes - before.rssBytes) / MiB) * (10_000 / n) : undefined,
      held: n,
      failed: held.opened.failed,
    };
  } finally {
    await held.release();
    await settle(ctx, peer);
  }
}

/** One bounded load of each kind that is not measured, then settle. */
async function warmUp(ctx: BenchContext, peer: Peer, label: string, load: Partial<LoadSpec>): Promise<void> {
  for (const kind of ctx.settings.kinds) {
    ctx.progress(`${peer.name} ${kind} ${label}`);
    await ctx.load.run(spec(ctx, peer, kind, load));
  }
  await settle(ctx, peer);
}

export async function measurePeer(ctx: BenchContext, peer: Peer): Promise<PeerFigures> {
  const s = ctx.settings;
  const errors: string[] = [];
  // Warm-up: JIT, caches where a peer has them, pools.
  await warmUp(ctx, peer, 'warm-up', {
    concurrency: 8,
    maxConnections: s.warmupConnections,
    durationMs: 5000,
  });
  const idle = sample(peer);
  // Idle connections first, while the heap holds little else: growth then is theirs.
  const memory = new Map<TrafficKind, Awaited<ReturnType<typeof idleRss>>>();
  for (const kind of s.kinds) memory.set(kind, await idleRss(ctx, peer, kind, errors));

  const reps = new Map<TrafficKind, Repetition[]>(s.kinds.map((k) => [k, []]));
  // direct has no CPU to read: its rate and bulk figures are the ceiling, once is enough.
  const repeat = peer === ctx.direct ? 1 : s.repeat;
  if (peer !== ctx.direct && s.jitWarmupConnections > 0) {
    await warmUp(ctx, peer, 'JIT warm-up', {
      maxConnections: s.jitWarmupConnections,
      durationMs: JIT_WARMUP_MAX_MS,
    });
  }
  for (let i = 0; i < repeat; i++) {
    for (const kind of s.kinds) reps.get(kind)?.push(await repetition(ctx, peer, kind, errors));
  }
  await settle(ctx, peer);
  await sleep(SETTLE_MS);
  const after = sample(peer);

  const kinds: Partial<Record<TrafficKind, KindFigures>> = {};
  for (const kind of s.kinds) {
    const list = reps.get(kind) ?? [];
    const m = (pick: (r: Repetition) => number | undefined) => {
      const values = list.map(pick).filter((v): v is number => v !== undefined);
      return values.length === 0 ? undefined : median(values);
    };
    const mem = memory.get(kind);
    kinds[kind] = {
      cpuUsPerConnection: m((r) => r.cpuUsPerConnection),
      cpuSecPerGb: m((r) => r.cpuSecPerGb),
      cpuSecPerGbDown: m((r) => r.cpuSecPerGbDown),
      connectionsPerSec: m((r) => r.connectionsPerSec) ?? 0,
      mibPerSec: m((r) => r.mibPerSec) ?? 0,
      newConnectionMs: m((r) => r.newConnectionMs) ?? 0,
      newConnectionAddedMs: m((r) => r.newConnectionAddedMs),
      hopUs: m((r) => r.hopUs) ?? 0,
      hopAddedUs: m((r) => r.hopAddedUs),
      dnsQueriesPerConnection: m((r) => r.dnsQueriesPerConnection) ?? 0,
      rssMiBPer10kIdle: mem?.perTenThousandMiB,
      idleHeld: mem?.held ?? 0,
      failed: list.reduce((n, r) => n + r.failed, 0) + (mem?.failed ?? 0),
    };
  }
  return {
    peer: peer.name,
    idleRssMiB: idle && idle.rssBytes / MiB,
    rssAfterLoadMiB: after && after.rssBytes / MiB,
    processes: idle?.processes,
    kinds,
    errors,
  };
}
