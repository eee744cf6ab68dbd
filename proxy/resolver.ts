/**
 * Resolves upstream hostnames on every new connection, through c-ares (node:dns Resolver)
 * and the configured servers, never getaddrinfo (which would add nscd/systemd caches and
 * block the thread pool). Nothing is cached beyond coalescing: concurrent lookups of one
 * name share one in-flight query, and the next lookup asks again. When a query fails,
 * the last good answer for that name serves while it is younger than staleMaxAgeMs.
 */
import { promises as dns } from 'node:dns';
import { ProxyError } from './errors.js';

export interface ResolverOptions {
  /** `host`, `host:port` or `[v6]:port`; empty = the system's resolvers. */
  readonly servers: readonly string[];
  /** Per-query timeout. */
  readonly timeoutMs: number;
  /** Tries per server. */
  readonly tries: number;
  /** How long the last good answer may serve while DNS fails; 0 disables. */
  readonly staleMaxAgeMs: number;
  /** Look up AAAA as well as A. */
  readonly ipv6: boolean;
  /** Monotonic clock in ms, injectable for tests. @default performance.now */
  readonly now?: () => number;
}

export interface Resolution {
  /** IPv4 first, then IPv6, in the order the server gave them. */
  readonly addresses: readonly string[];
  /** True when DNS failed and this is the last good answer. */
  readonly stale: boolean;
}

export class Resolver {
  private options: ResolverOptions;
  private dns: dns.Resolver;
  private readonly inFlight = new Map<string, Promise<readonly string[]>>();
  private readonly lastGood = new Map<string, { addresses: readonly string[]; at: number }>();
  private readonly now: () => number;

  constructor(options: ResolverOptions) {
    this.options = options;
    // Monotonic: a wall-clock step (NTP) must not stretch or cut the stale window.
    this.now = options.now ?? (() => performance.now());
    this.dns = Resolver.create(options);
  }

  private static create(options: ResolverOptions): dns.Resolver {
    const resolver = new dns.Resolver({ timeout: options.timeoutMs, tries: options.tries });
    if (options.servers.length > 0) resolver.setServers([...options.servers]);
    return resolver;
  }

  /** The servers queries go to (the system's when none were configured). */
  get servers(): string[] {
    return this.dns.getServers();
  }

  /** Apply new DNS settings to later lookups; last-good answers are kept. */
  reconfigure(options: ResolverOptions): void {
    const old = this.options;
    this.options = { ...options, now: this.now };
    const same =
      old.timeoutMs === options.timeoutMs &&
      old.tries === options.tries &&
      old.servers.join(',') === options.servers.join(',');
    if (!same) this.dns = Resolver.create(options);
  }

  /** Throws ProxyError EKL_DNS_FAILED when DNS fails and no young enough last-good answer exists. */
  async resolve(hostname: string): Promise<Resolution> {
    try {
      return { addresses: await this.query(hostname), stale: false };
    } catch (err) {
      const good = this.lastGood.get(hostname);
      const maxAge = this.options.staleMaxAgeMs;
      if (good !== undefined && maxAge > 0 && this.now() - good.at <= maxAge) {
        return { addresses: good.addresses, stale: true };
      }
      const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
      const staleNote =
        good === undefined
          ? 'no earlier answer to fall back on'
          : `the last good answer is ${Math.round(this.now() - good.at)} ms old (dns.staleMaxAgeMs is ${maxAge})`;
      throw new ProxyError(
        'EKL_DNS_FAILED',
        `DNS lookup of ${hostname} via ${this.servers.join(', ') || 'the system resolvers'} failed (${code}); ${staleNote}`,
        { cause: err, source: 'upstream', retryable: true },
      );
    }
  }

  /** Cancel in-flight queries (they reject with ECANCELLED). */
  close(): void {
    this.dns.cancel();
  }

  private query(hostname: string): Promise<readonly string[]> {
    let pending = this.inFlight.get(hostname);
    if (pending === undefined) {
      pending = this.lookup(hostname).finally(() => this.inFlight.delete(hostname));
      this.inFlight.set(hostname, pending);
    }
    return pending;
  }

  private async lookup(hostname: string): Promise<readonly string[]> {
    const resolver = this.dns;
    const addresses = this.options.ipv6
      ? await resolveBoth(resolver, hostname)
      : await resolver.resolve4(hostname);
    if (addresses.length === 0) {
      throw Object.assign(new Error(`no address records for ${hostname}`), { code: 'ENODATA' });
    }
    this.lastGood.set(hostname, { addresses, at: this.now() });
    return addresses;
  }
}

/**
 * How long AAAA may lag once A has answered (RFC 8305's Resolution Delay). Waiting for
 * both would make every connection wait out the full DNS timeout whenever a resolver or
 * firewall drops AAAA queries, although the A answer was there within a millisecond.
 */
export const AAAA_GRACE_MS = 50;

/** A, then AAAA if it arrives within AAAA_GRACE_MS of A; AAAA alone when A fails. */
async function resolveBoth(resolver: dns.Resolver, hostname: string): Promise<string[]> {
  const aaaa = resolver.resolve6(hostname);
  const v6 = aaaa.then(
    (addresses) => addresses,
    () => [] as string[],
  );
  let v4: string[];
  try {
    v4 = await resolver.resolve4(hostname);
  } catch (err) {
    const only6 = await v6;
    if (only6.length === 0) throw err;
    return only6;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => resolve([]), AAAA_GRACE_MS);
  });
  try {
    return [...v4, ...(await Promise.race([v6, late]))];
  } finally {
    clearTimeout(timer);
  }
}
