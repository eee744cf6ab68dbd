import type { CloseReason } from './close-reason.js';

/** Everything known about a connection when it closes: what its one log line and metrics say. */
export interface ConnectionRecord {
  readonly id: string;
  /** Original client (from PROXY v2 when present, else the TCP peer). */
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly vpcEndpointId?: string;
  readonly sni?: string;
  /** Route name: a bounded label. */
  readonly route?: string;
  /** `ip:port` actually dialled. */
  readonly upstreamAddress?: string;
  readonly bytesFromClient: number;
  readonly bytesFromUpstream: number;
  readonly durationMs: number;
  readonly reason: CloseReason;
}

export type DnsResult = 'ok' | 'stale' | 'error';
export type ConnectResult = 'ok' | 'timeout' | 'refused' | 'unreachable' | 'error';

/**
 * Hooks the data path calls as a connection moves along. Metrics implement it; tests can
 * too. Every method must be cheap and must not throw.
 */
export interface ProxyObserver {
  connectionOpened(): void;
  connectionClosed(record: ConnectionRecord): void;
  dnsLookup(route: string, result: DnsResult, durationSec: number): void;
  upstreamConnect(route: string, result: ConnectResult, durationSec: number): void;
  /** Bytes relayed since the last report for one connection (during it and at its close). */
  bytesRelayed(route: string, fromClient: number, fromUpstream: number): void;
}

export const noopObserver: ProxyObserver = {
  connectionOpened() {},
  connectionClosed() {},
  dnsLookup() {},
  upstreamConnect() {},
  bytesRelayed() {},
};
