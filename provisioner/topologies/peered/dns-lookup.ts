import { lookup, Resolver } from 'node:dns/promises';

/** Resolve a name to its A records; throws a node:dns error (code ENOTFOUND, ETIMEOUT, ...) on failure. */
export type DnsLookup = (hostname: string) => Promise<string[]>;

/**
 * The lookup the DNS check uses: the given servers through c-ares (a loopback test server,
 * or the VPC resolver), else this host's resolver (getaddrinfo), as a kube client would.
 */
export function createDnsLookup(servers: readonly string[] | undefined, timeoutMs: number): DnsLookup {
  if (servers === undefined) {
    return async (hostname) => (await lookup(hostname, { all: true, family: 4 })).map((a) => a.address);
  }
  const resolver = new Resolver({ timeout: Math.max(1, Math.floor(timeoutMs / 2)), tries: 2 });
  resolver.setServers([...servers]);
  return (hostname) => resolver.resolve4(hostname);
}
