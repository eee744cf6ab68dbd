/**
 * The benchmark's tables (Markdown, so a run pastes straight into docs/benchmark.md), the
 * ratios of each ekslink variant to every other peer, and the median of several runs.
 */
import type { KindFigures, PeerFigures } from './measure.js';
import { median } from './measure.js';
import type { TrafficKind } from './peers.js';

type Cell = number | undefined;

function fmt(v: Cell, digits: number): string {
  return v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

function signed(v: Cell, digits: number): string {
  return v === undefined || !Number.isFinite(v) ? '-' : `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export const KIND_TITLE: Record<TrafficKind, string> = {
  tls: 'real TLS (handshakes through the proxy to a node:tls upstream)',
  plain: 'no crypto (replayed ClientHello, plain upstream)',
};

export function kindTable(peers: readonly PeerFigures[], kind: TrafficKind): string {
  const header = [
    'peer',
    'CPU µs/conn',
    'CPU s/GB up',
    'CPU s/GB down',
    'new-conn added ms',
    'keep-alive hop added µs',
    'DNS q/conn',
    'RSS MiB per 10k idle',
    'conn/s',
    'MiB/s',
    'failed',
  ];
  const rows = peers.flatMap((p) => {
    const k = p.kinds[kind];
    if (!k) return [];
    const direct = p.peer === 'direct';
    return [
      [
        p.peer,
        fmt(k.cpuUsPerConnection, 0),
        fmt(k.cpuSecPerGb, 2),
        fmt(k.cpuSecPerGbDown, 2),
        direct ? `(${fmt(k.newConnectionMs, 2)})` : signed(k.newConnectionAddedMs, 2),
        direct ? `(${fmt(k.hopUs, 0)})` : signed(k.hopAddedUs, 0),
        fmt(k.dnsQueriesPerConnection, 3),
        fmt(k.rssMiBPer10kIdle, 0),
        fmt(k.connectionsPerSec, 0),
        fmt(k.mibPerSec, 0),
        String(k.failed),
      ],
    ];
  });
  return markdownTable(header, rows);
}

export function memoryTable(peers: readonly PeerFigures[]): string {
  const rows = peers
    .filter((p) => p.idleRssMiB !== undefined)
    .map((p) => [p.peer, String(p.processes ?? '-'), fmt(p.idleRssMiB, 0), fmt(p.rssAfterLoadMiB, 0)]);
  return markdownTable(['peer', 'processes', 'idle RSS MiB', 'RSS MiB after the load closed'], rows);
}

interface RatioColumn {
  readonly title: string;
  readonly value: (p: PeerFigures) => Cell;
}

function ratioColumns(kinds: readonly TrafficKind[]): RatioColumn[] {
  const of = (kind: TrafficKind, f: (k: KindFigures) => Cell) => (p: PeerFigures) => {
    const k = p.kinds[kind];
    return k ? f(k) : undefined;
  };
  const columns: RatioColumn[] = [];
  for (const kind of kinds) {
    columns.push(
      { title: `CPU/conn ${kind}`, value: of(kind, (k) => k.cpuUsPerConnection) },
      { title: `CPU/GB up ${kind}`, value: of(kind, (k) => k.cpuSecPerGb) },
      { title: `CPU/GB down ${kind}`, value: of(kind, (k) => k.cpuSecPerGbDown) },
    );
  }
  columns.push({ title: 'idle RSS', value: (p) => p.idleRssMiB });
  for (const kind of kinds) {
    columns.push({ title: `RSS/10k idle ${kind}`, value: of(kind, (k) => k.rssMiBPer10kIdle) });
  }
  for (const kind of kinds) {
    columns.push(
      { title: `new-conn added ${kind}`, value: of(kind, (k) => k.newConnectionAddedMs) },
      { title: `hop added ${kind}`, value: of(kind, (k) => k.hopAddedUs) },
    );
  }
  return columns;
}

/** "ekslink ÷ peer" for every ekslink variant and every other measured peer (above 1: ekslink costs more). */
export function ratioTable(peers: readonly PeerFigures[], kinds: readonly TrafficKind[]): string {
  const columns = ratioColumns(kinds);
  const measured = peers.filter((p) => p.peer !== 'direct');
  const rows: string[][] = [];
  for (const ours of measured.filter((p) => p.peer.startsWith('ekslink'))) {
    for (const other of measured.filter((p) => p !== ours)) {
      rows.push([
        `${ours.peer} ÷ ${other.peer}`,
        ...columns.map((c) => {
          const a = c.value(ours);
          const b = c.value(other);
          // A ratio to a figure at or below zero (an added latency lost in the noise) means nothing.
          return a === undefined || b === undefined || b <= 0 ? '-' : `${(a / b).toFixed(2)}x`;
        }),
      ]);
    }
  }
  return markdownTable(['ratio', ...columns.map((c) => c.title)], rows);
}

function medianOf(values: readonly Cell[]): Cell {
  const defined = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return defined.length === 0 ? undefined : median(defined);
}

/** Per peer and figure, the median over several runs (peers missing from a run are skipped there). */
export function medianOfRuns(runs: readonly (readonly PeerFigures[])[]): PeerFigures[] {
  const names = [...new Set(runs.flatMap((r) => r.map((p) => p.peer)))];
  return names.map((name) => {
    const all = runs.flatMap((r) => r.filter((p) => p.peer === name));
    const kinds: Partial<Record<TrafficKind, KindFigures>> = {};
    for (const kind of ['plain', 'tls'] as const) {
      const ks = all.map((p) => p.kinds[kind]).filter((k): k is KindFigures => k !== undefined);
      if (ks.length === 0) continue;
      const m = (f: (k: KindFigures) => Cell) => medianOf(ks.map(f));
      kinds[kind] = {
        cpuUsPerConnection: m((k) => k.cpuUsPerConnection),
        cpuSecPerGb: m((k) => k.cpuSecPerGb),
        cpuSecPerGbDown: m((k) => k.cpuSecPerGbDown),
        connectionsPerSec: m((k) => k.connectionsPerSec) ?? 0,
        mibPerSec: m((k) => k.mibPerSec) ?? 0,
        newConnectionMs: m((k) => k.newConnectionMs) ?? 0,
        newConnectionAddedMs: m((k) => k.newConnectionAddedMs),
        hopUs: m((k) => k.hopUs) ?? 0,
        hopAddedUs: m((k) => k.hopAddedUs),
        dnsQueriesPerConnection: m((k) => k.dnsQueriesPerConnection) ?? 0,
        rssMiBPer10kIdle: m((k) => k.rssMiBPer10kIdle),
        idleHeld: m((k) => k.idleHeld) ?? 0,
        failed: ks.reduce((n, k) => n + k.failed, 0),
      };
    }
    return {
      peer: name,
      idleRssMiB: medianOf(all.map((p) => p.idleRssMiB)),
      rssAfterLoadMiB: medianOf(all.map((p) => p.rssAfterLoadMiB)),
      processes: medianOf(all.map((p) => p.processes)),
      kinds,
      errors: all.flatMap((p) => p.errors),
    };
  });
}

export function fullReport(peers: readonly PeerFigures[], kinds: readonly TrafficKind[]): string {
  const parts: string[] = [];
  for (const kind of kinds) parts.push(`### ${KIND_TITLE[kind]}\n\n${kindTable(peers, kind)}`);
  parts.push(`### Memory (process tree)\n\n${memoryTable(peers)}`);
  parts.push(`### ekslink ÷ peer (above 1.00x: ekslink costs more)\n\n${ratioTable(peers, kinds)}`);
  return parts.join('\n\n');
}
