/**
 * Background readiness. Every `intervalMs` each route's upstream is resolved (through the
 * same kind of Resolver the data path uses), filtered by the address policy, and one
 * address is dialled; optionally an HTTPS GET of the API server's /readyz with the route's
 * SNI, verified with the cluster CA. A round passes when every route resolved to an
 * allowed address and at least one route's upstream answered. Readiness flips only after
 * `successThreshold` / `failureThreshold` consecutive rounds, so one lost probe does not
 * flap the NLB target. /readyz reads the cached verdict and never probes itself.
 */
import type { Logger } from '../../common/logger.js';
import { describeError } from '../../common/errors.js';
import type { Route } from '../config/schema.js';
import { dial } from '../upstream/dialer.js';
import type { ProbeResult } from './metrics.js';

export interface ProbeResolver {
  resolve(hostname: string): Promise<{ readonly addresses: readonly string[]; readonly stale: boolean }>;
}
export interface ProbePolicy {
  allows(address: string): boolean;
}
export interface ProbeObserver {
  probe(route: string, result: ProbeResult): void;
  setReady(ready: boolean): void;
}

export interface DeepProbeSettings {
  /** PEM of the cluster CA the upstream's certificate must chain to. */
  readonly ca: string;
  /** @default /readyz */
  readonly path: string;
}

export interface ProberSettings {
  readonly routes: readonly Route[];
  readonly policy: ProbePolicy;
  readonly connectTimeoutMs: number;
  readonly intervalMs: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
  /** Off when undefined. */
  readonly deepProbe?: DeepProbeSettings;
}

export interface ProberOptions extends ProberSettings {
  readonly resolver: ProbeResolver;
  readonly logger: Logger;
  readonly observer?: ProbeObserver;
}

export interface RouteStatus {
  readonly name: string;
  readonly ok: boolean;
  readonly result: ProbeResult;
  /** Why it failed, for /readyz and the log; no payload. */
  readonly detail?: string;
}

export interface ProberStatus {
  readonly ready: boolean;
  readonly probed: boolean;
  readonly consecutiveSuccesses: number;
  readonly consecutiveFailures: number;
  readonly routes: readonly RouteStatus[];
}

export class Prober {
  private settings: ProberSettings;
  private readonly resolver: ProbeResolver;
  private readonly logger: Logger;
  private readonly observer: ProbeObserver | undefined;
  private isReady = false;
  private probed = false;
  private successes = 0;
  private failures = 0;
  private routeStatus: RouteStatus[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<boolean> | undefined;
  private stopped = true;

  constructor(options: ProberOptions) {
    const { resolver, logger, observer, ...settings } = options;
    this.settings = settings;
    this.resolver = resolver;
    this.logger = logger;
    this.observer = observer;
  }

  get ready(): boolean {
    return this.isReady;
  }

  status(): ProberStatus {
    return {
      ready: this.isReady,
      probed: this.probed,
      consecutiveSuccesses: this.successes,
      consecutiveFailures: this.failures,
      routes: this.routeStatus,
    };
  }

  /** Probe now, then every intervalMs until stop(). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = async (): Promise<void> => {
      await this.probeOnce();
      if (!this.stopped) this.timer = setTimeout(() => void loop(), this.settings.intervalMs);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** New routes, policy or thresholds apply from the next round; the verdict so far stays. */
  reconfigure(settings: ProberSettings): void {
    this.settings = settings;
  }

  /** One round over every route; returns whether it passed. Concurrent calls share a round. */
  probeOnce(): Promise<boolean> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(): Promise<boolean> {
    const settings = this.settings;
    const statuses = await Promise.all(settings.routes.map((route) => this.probeRoute(route, settings)));
    const passed =
      statuses.every((s) => s.result !== 'dns_failed' && s.result !== 'no_allowed_address') &&
      statuses.some((s) => s.ok);
    this.routeStatus = statuses;
    this.probed = true;
    for (const s of statuses) this.observer?.probe(s.name, s.result);
    if (passed) {
      this.successes++;
      this.failures = 0;
      if (!this.isReady && this.successes >= settings.successThreshold) this.flip(true);
    } else {
      this.failures++;
      this.successes = 0;
      if (this.isReady && this.failures >= settings.failureThreshold) this.flip(false);
      else if (!this.isReady && this.failures === 1) this.logFailures('probe_failed');
    }
    return passed;
  }

  private flip(ready: boolean): void {
    this.isReady = ready;
    this.observer?.setReady(ready);
    if (ready) this.logger.info({ event: 'ready', routes: this.routeStatus.map((s) => s.name) });
    else this.logFailures('not_ready');
  }

  private logFailures(event: string): void {
    this.logger.warn({
      event,
      consecutiveFailures: this.failures,
      routes: this.routeStatus
        .filter((s) => !s.ok)
        .map((s) => ({ route: s.name, result: s.result, detail: s.detail })),
    });
  }

  private async probeRoute(route: Route, settings: ProberSettings): Promise<RouteStatus> {
    const name = route.name;
    let addresses: readonly string[];
    try {
      addresses = (await this.resolver.resolve(route.upstreamHost)).addresses;
    } catch (err) {
      return { name, ok: false, result: 'dns_failed', detail: describeError(err).code };
    }
    const allowed = addresses.filter((a) => settings.policy.allows(a));
    if (allowed.length === 0) {
      return {
        name,
        ok: false,
        result: 'no_allowed_address',
        detail: `${addresses.length} address(es), none allowed`,
      };
    }
    if (settings.deepProbe !== undefined) return this.deepProbe(route, allowed, settings, settings.deepProbe);
    try {
      const { socket } = await dial(allowed, route.upstreamPort, {
        connectTimeoutMs: settings.connectTimeoutMs,
      });
      socket.destroy();
      return { name, ok: true, result: 'ok' };
    } catch (err) {
      return { name, ok: false, result: 'connect_failed', detail: describeError(err).code };
    }
  }

  /** HTTPS GET with the route's SNI against the first allowed address; 2xx passes. */
  private async deepProbe(
    route: Route,
    allowed: readonly string[],
    settings: ProberSettings,
    deep: DeepProbeSettings,
  ): Promise<RouteStatus> {
    const name = route.name;
    const address = allowed[0] as string;
    const host = address.includes(':') ? `[${address}]` : address;
    // undici is loaded only when a deep probe is configured: it is a third of the heap.
    const { Client } = await import('undici');
    const client = new Client(`https://${host}:${route.upstreamPort}`, {
      connect: { servername: route.sni, ca: deep.ca, rejectUnauthorized: true },
      connectTimeout: settings.connectTimeoutMs,
      headersTimeout: settings.connectTimeoutMs * 2,
      bodyTimeout: settings.connectTimeoutMs * 2,
    });
    try {
      const res = await client.request({ path: deep.path, method: 'GET', headers: { host: route.sni } });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) return { name, ok: true, result: 'ok' };
      return { name, ok: false, result: 'deep_probe_failed', detail: `HTTP ${res.statusCode}` };
    } catch (err) {
      const { code } = describeError(err);
      const refused = ['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH'].includes(
        code,
      );
      return { name, ok: false, result: refused ? 'connect_failed' : 'deep_probe_failed', detail: code };
    } finally {
      await client.close().catch(() => {});
    }
  }
}
