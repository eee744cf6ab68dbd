/**
 * What the lifecycle drives, whether the data path runs in this process or in workers, and
 * its in-process form. The cluster form is cluster-data-plane.ts.
 */
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../common/logger.js';
import type { ProxyConfig } from '../config/schema.js';
import { ProxyServer } from '../connection/server.js';
import type { Resolver } from '../upstream/resolver.js';
import type { MetricsSnapshot, ProxyMetrics } from './metrics.js';

/** One write(2) per ~8 KiB of connection log lines rather than per line (see createLogger). */
export const LOG_BUFFER_BYTES = 8 * 1024;

/** What the lifecycle drives, whether the data path runs here or in workers. */
export interface DataPlane {
  /** A resolver configured like the data path's, for the prober. */
  readonly resolver: Resolver;
  start(): Promise<AddressInfo>;
  reload(config: ProxyConfig): Promise<void>;
  stopAccepting(): Promise<void>;
  drain(deadlineMs: number): Promise<void>;
  destroy(): Promise<void>;
  activeConnections(): Promise<number>;
  /** Metrics of processes other than this one (empty in-process). */
  metricsSnapshots(): Promise<MetricsSnapshot[]>;
}

/** One process: the ProxyServer runs here and shares this process's metrics. */
export class LocalDataPlane implements DataPlane {
  private readonly server: ProxyServer;
  readonly resolver: Resolver;

  constructor(config: ProxyConfig, logger: Logger, metrics: ProxyMetrics) {
    this.server = new ProxyServer({ config, logger, observer: metrics });
    this.resolver = this.server.resolver;
    const server = this.server;
    metrics.beforeCollect = () => server.flushByteCounts();
  }

  start(): Promise<AddressInfo> {
    return this.server.listen();
  }
  async reload(config: ProxyConfig): Promise<void> {
    this.server.reload(config);
  }
  stopAccepting(): Promise<void> {
    return this.server.stopAccepting();
  }
  drain(deadlineMs: number): Promise<void> {
    return this.server.drain(deadlineMs);
  }
  async destroy(): Promise<void> {
    this.server.destroy();
  }
  async activeConnections(): Promise<number> {
    return this.server.activeConnections;
  }
  async metricsSnapshots(): Promise<MetricsSnapshot[]> {
    return [];
  }
}
