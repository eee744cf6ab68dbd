/**
 * Resolves upstream hostnames for new connections through the configured servers (our own
 * stub client, never getaddrinfo, which would add nscd/systemd caches and block the thread
 * pool). Nothing is cached beyond a short sharing window: lookups of one name while a
 * query is in flight, or within shareWindowMs after it ended, share its outcome, so DNS
 * sees at most one query per name and type per window whatever the connection rate, and a
 * DNS change moves the connections that start one window later.
 *
 * When DNS is slow or failing, the last good answer (younger than staleMaxAgeMs) serves:
 * at once after a failure (timeout, SERVFAIL, REFUSED, no server reachable), and after
 * serveStaleAfterMs while a query is still out, which then finishes in the background and
 * refreshes it. An authoritative "the name does not exist" (NXDOMAIN, or NODATA: no
 * address records) is the truth, not an outage: the lookup fails and the last good answer
 * is forgotten.
 */
import { DnsClient, DnsQueryError, TYPE_A, TYPE_AAAA } from './dns-client.js';
import { ProxyError } from '../errors.js';

/** @default 300, as dns.serveStaleAfterMs */
export const DEFAULT_SERVE_STALE_AFTER_MS = 300;
/** @default 100, as dns.shareWindowMs */
export const DEFAULT_SHARE_WINDOW_MS = 100;

export interface ResolverOptions {
  /** `host`, `host:port` or `[v6]:port`; empty = the system's resolvers. */
  readonly servers: readonly string[];
  /** Per try. */
  readonly timeoutMs: number;
  /** Tries per server. */
  readonly tries: number;
  /** How long the last good answer may serve while DNS fails; 0 disables. */
  readonly staleMaxAgeMs: number;
  /** With a usable last good answer, how long a lookup waits for DNS before serving it. */
  readonly serveStaleAfterMs?: number;
  /** How long after a query ended its outcome still answers lookups of that name; 0 = only while in flight. */
  readonly shareWindowMs?: number;
  /** Look up AAAA as well as A. */
  readonly ipv6: boolean;
  /** Monotonic clock in ms, injectable for tests. @default performance.now */
  readonly now?: () => number;
}

export interface Resolution {
  /** IPv4 first, then IPv6, in the order the server gave them. */
  readonly addresses: readonly string[];
  /** True when this is the last good answer (DNS failed, or has not answered within serveStaleAfterMs). */
  readonly stale: boolean;
}

type Outcome = { readonly addresses: readonly string[] } | { readonly error: unknown };

interface NameState {
  inFlight?: Promise<Outcome>;
  /** Resolves when the query in flight has taken serveStaleAfterMs. */
  late?: Promise<void>;
  outcome?: Outcome;
  settledAt: number;
  good?: { readonly addresses: readonly string[]; readonly at: number };
}

export class Resolver {
  private options: ResolverOptions;
  private client: DnsClient;
  private readonly names = new Map<string, NameState>();
  private readonly now: () => number;

  constructor(options: ResolverOptions) {
    this.options = options;
    // Monotonic: a wall-clock step (NTP) must not stretch or cut the stale window.
    this.now = options.now ?? (() => performance.now());
    this.client = new DnsClient(options);
  }

  /** The servers queries go to (the system's when none were configured). */
  get servers(): string[] {
    return this.client.serverNames;
  }

  /** The longest a lookup without a usable last good answer can take before it fails. */
  get worstCaseMs(): number {
    return this.client.worstCaseMs + (this.options.ipv6 ? AAAA_GRACE_MS : 0);
  }

  /** Apply new DNS settings to later lookups; last-good answers are kept. */
  reconfigure(options: ResolverOptions): void {
    const old = this.options;
    this.options = { ...options, now: this.now };
    const same =
      old.timeoutMs === options.timeoutMs &&
      old.tries === options.tries &&
      old.servers.join(',') === options.servers.join(',');
    if (same) return;
    // Answers from the old servers no longer answer new lookups; the last good ones stay.
    for (const st of this.names.values()) st.outcome = undefined;
    // Queries in flight finish on the old client, which closes its sockets after them.
    this.client.retire();
    this.client = new DnsClient(options);
  }

  /** Throws ProxyError EKL_DNS_FAILED when DNS fails and no young enough last-good answer exists. */
  async resolve(hostname: string): Promise<Resolution> {
    let st = this.names.get(hostname);
    if (st === undefined) {
      st = { settledAt: -Infinity };
      this.names.set(hostname, st);
    }
    const window = this.options.shareWindowMs ?? DEFAULT_SHARE_WINDOW_MS;
    if (st.inFlight === undefined && st.outcome !== undefined && this.now() - st.settledAt < window) {
      return this.answer(hostname, st, st.outcome);
    }
    const query = st.inFlight ?? this.start(hostname, st);
    if (this.usableStale(st) === undefined || st.late === undefined) {
      return this.answer(hostname, st, await query);
    }
    const first = await Promise.race([query, st.late]);
    if (first !== undefined) return this.answer(hostname, st, first);
    const good = this.usableStale(st);
    return good !== undefined ? { addresses: good, stale: true } : this.answer(hostname, st, await query);
  }

  /** Cancel lookups in flight (they fail with ECANCELLED) and close the sockets. */
  close(): void {
    this.client.close();
  }

  private start(hostname: string, st: NameState): Promise<Outcome> {
    let lateTimer: NodeJS.Timeout | undefined;
    if (this.usableStale(st) !== undefined) {
      const ms = this.options.serveStaleAfterMs ?? DEFAULT_SERVE_STALE_AFTER_MS;
      st.late = new Promise((resolve) => {
        lateTimer = setTimeout(resolve, ms);
      });
    } else {
      st.late = undefined;
    }
    const query = this.lookup(hostname).then(
      (addresses): Outcome => ({ addresses }),
      (error: unknown): Outcome => ({ error }),
    );
    st.inFlight = query;
    // Registered before any caller awaits `query`, so callers see the state it leaves.
    void query.then((outcome) => {
      clearTimeout(lateTimer);
      st.inFlight = undefined;
      st.late = undefined;
      st.outcome = outcome;
      st.settledAt = this.now();
      if ('addresses' in outcome) st.good = { addresses: outcome.addresses, at: st.settledAt };
      else if (outcome.error instanceof DnsQueryError && outcome.error.negative) st.good = undefined;
    });
    return query;
  }

  /** The last good answer when it may serve now, else undefined. */
  private usableStale(st: NameState): readonly string[] | undefined {
    const maxAge = this.options.staleMaxAgeMs;
    if (st.good === undefined || maxAge <= 0 || this.now() - st.good.at > maxAge) return undefined;
    return st.good.addresses;
  }

  private answer(hostname: string, st: NameState, outcome: Outcome): Resolution {
    if ('addresses' in outcome) return { addresses: outcome.addresses, stale: false };
    const err = outcome.error;
    const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
    const negative = err instanceof DnsQueryError && err.negative;
    const good = negative ? undefined : this.usableStale(st);
    if (good !== undefined) return { addresses: good, stale: true };
    const maxAge = this.options.staleMaxAgeMs;
    const staleNote = negative
      ? 'the name does not exist, so no earlier answer is used'
      : st.good === undefined
        ? 'no earlier answer to fall back on'
        : `the last good answer is ${Math.round(this.now() - st.good.at)} ms old (dns.staleMaxAgeMs is ${maxAge})`;
    throw new ProxyError(
      'EKL_DNS_FAILED',
      `DNS lookup of ${hostname} via ${this.servers.join(', ')} failed (${code}); ${staleNote}`,
      { cause: err, source: 'upstream', retryable: !negative },
    );
  }

  private lookup(hostname: string): Promise<readonly string[]> {
    return this.options.ipv6 ? resolveBoth(this.client, hostname) : this.client.lookup(hostname, TYPE_A);
  }
}

/**
 * How long AAAA may lag once A has answered (RFC 8305's Resolution Delay). Waiting for
 * both would make every connection wait out the full DNS timeout whenever a resolver or
 * firewall drops AAAA queries, although the A answer was there within a millisecond.
 */
export const AAAA_GRACE_MS = 50;

/** A, then AAAA if it arrives within AAAA_GRACE_MS of A; AAAA alone when A fails. */
async function resolveBoth(client: DnsClient, hostname: string): Promise<string[]> {
  const v6 = client.lookup(hostname, TYPE_AAAA).then(
    (addresses) => addresses,
    () => [] as string[],
  );
  let v4: string[];
  try {
    v4 = await client.lookup(hostname, TYPE_A);
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
