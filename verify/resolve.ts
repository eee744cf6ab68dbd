import { lookup as dnsLookup, Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { withTimeout } from './timeout.js';
import type { HopContext, HopResult, LookupFn } from './types.js';

/** The system resolver (getaddrinfo: /etc/hosts, then resolv.conf), as a kube client would use it. */
export const systemLookup: LookupFn = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, order: 'verbatim' });
  return answers.map((a) => a.address);
};

/**
 * Ask the given DNS servers ("IP" or "IP:PORT") directly, bypassing /etc/hosts and resolv.conf.
 * Each lookup has its own resolver, so an abort (the hop's timeout) cancels exactly its queries
 * and no c-ares retry keeps the process alive after the report.
 */
export function serverLookup(servers: readonly string[], timeoutMs: number): LookupFn {
  const list = [...servers];
  return async (hostname, signal) => {
    const resolver = new Resolver({ timeout: Math.max(1, Math.floor(timeoutMs / 2)), tries: 2 });
    resolver.setServers(list);
    const cancel = (): void => resolver.cancel();
    if (signal?.aborted) cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    const [v4, v6] = await Promise.allSettled([
      resolver.resolve4(hostname),
      resolver.resolve6(hostname),
    ]).finally(() => signal?.removeEventListener('abort', cancel));
    const addresses = [
      ...(v4.status === 'fulfilled' ? v4.value : []),
      ...(v6.status === 'fulfilled' ? v6.value : []),
    ];
    if (addresses.length > 0) return addresses;
    // Both failed or both empty: report the more telling error (a server failure beats "no data").
    const errors = [v4, v6].flatMap((r) =>
      r.status === 'rejected' ? [r.reason as NodeJS.ErrnoException] : [],
    );
    const serverError = errors.find((e) => e.code !== 'ENOTFOUND' && e.code !== 'ENODATA');
    throw (
      serverError ??
      errors[0] ??
      Object.assign(new Error(`no A or AAAA record for ${hostname}`), { code: 'ENODATA' })
    );
  };
}

const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);
/** c-ares' own timeout, and ours (the hop bound). */
const TIMED_OUT = new Set(['ETIMEOUT', 'ETIMEDOUT']);

/** What an answered-but-failed lookup means, by error code: the resolver did answer, so say what. */
const FAILED_HINT: Readonly<Record<string, string>> = {
  ESERVFAIL:
    'the resolver answered SERVFAIL: it could not get an answer from the servers it asks (a Route 53 Resolver forwarding rule, an outbound endpoint, DNSSEC validation): check its logs and rules for this name',
  EREFUSED:
    'the resolver refused the query: it does not serve this client or this zone (recursion off, an ACL): use the VPC resolver (base of the VPC CIDR + 2) or --dns-server',
  ECONNREFUSED:
    'nothing answers DNS on that address (ICMP port unreachable): check --dns-server or the nameserver in /etc/resolv.conf',
  EAI_AGAIN:
    'the system resolver reported a temporary failure (its server timed out or answered SERVFAIL): check /etc/resolv.conf, or pass --dns-server to see which',
};
const FAILED_HINT_DEFAULT =
  'the resolver answered with an error: check /etc/resolv.conf or --dns-server, and that UDP/TCP 53 to it is open';

/** Hop 1: resolve the server name to the addresses the next hops connect to. */
export async function checkResolve(
  ctx: HopContext,
  lookup: LookupFn,
): Promise<HopResult & { addresses: string[] }> {
  const { host } = ctx.target;
  const start = ctx.now();
  if (isIP(host) !== 0) {
    return {
      hop: 'resolve',
      status: 'ok',
      latencyMs: 0,
      summary: `${host} is an IP address; nothing to resolve`,
      details: { host, addresses: [host] },
      addresses: [host],
    };
  }
  const abort = new AbortController();
  try {
    const addresses = await withTimeout(lookup(host, abort.signal), ctx.timeoutMs, () => {
      abort.abort();
      return Object.assign(new Error(`no DNS answer for ${host} within ${ctx.timeoutMs} ms`), {
        code: 'ETIMEOUT',
      });
    });
    const latencyMs = ctx.now() - start;
    if (addresses.length === 0) {
      return fail(host, latencyMs, 'EKL_VERIFY_DNS_NOT_FOUND', `${host} resolved to no address`, 'ENODATA');
    }
    return {
      hop: 'resolve',
      status: 'ok',
      latencyMs,
      summary: `${host} -> ${addresses.join(', ')}`,
      details: { host, addresses },
      addresses,
    };
  } catch (err) {
    const latencyMs = ctx.now() - start;
    const e = err as NodeJS.ErrnoException;
    const errno = e.code ?? 'UNKNOWN';
    if (NOT_FOUND.has(errno)) {
      return fail(host, latencyMs, 'EKL_VERIFY_DNS_NOT_FOUND', `${host} does not resolve (${errno})`, errno);
    }
    if (TIMED_OUT.has(errno)) {
      return fail(
        host,
        latencyMs,
        'EKL_VERIFY_DNS_TIMEOUT',
        `no DNS answer for ${host} within ${ctx.timeoutMs} ms (${errno})`,
        errno,
      );
    }
    return fail(
      host,
      latencyMs,
      'EKL_VERIFY_DNS_FAILED',
      `resolving ${host} failed: ${errno} (${e.message})`,
      errno,
    );
  }
}

function fail(
  host: string,
  latencyMs: number,
  code: 'EKL_VERIFY_DNS_NOT_FOUND' | 'EKL_VERIFY_DNS_TIMEOUT' | 'EKL_VERIFY_DNS_FAILED',
  summary: string,
  errno: string,
): HopResult & { addresses: string[] } {
  const hint =
    code === 'EKL_VERIFY_DNS_NOT_FOUND'
      ? `check the spelling: a VPC endpoint DNS name and a private cluster's EKS hostname resolve from public DNS too; an alias in a private hosted zone resolves only in the VPCs associated with it (topology 2: the DNS step of provision apply --topology peered), or ask a given server with --dns-server`
      : code === 'EKL_VERIFY_DNS_TIMEOUT'
        ? `the resolver did not answer: check /etc/resolv.conf or --dns-server, and that UDP/TCP 53 to it is open (security group, NACL, the route to it)`
        : (FAILED_HINT[errno] ?? FAILED_HINT_DEFAULT);
  return {
    hop: 'resolve',
    status: 'fail',
    latencyMs,
    summary,
    code,
    hint,
    details: { host, error: errno },
    addresses: [],
  };
}
