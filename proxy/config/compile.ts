/**
 * The config compiled, in this one place, into what each stage needs: the route table, the
 * address policy, the PROXY v2 endpoint allowlist, keepalive and resolver settings. Each
 * process compiles a config once per load or reload and swaps the whole in; a config that
 * does not compile is refused before anything changes (start, SIGHUP, --check-config).
 */
import type { ResolverOptions } from '../upstream/resolver.js';
import { AddressPolicy } from '../upstream/address-policy.js';
import type { KeepAliveSettings } from '../upstream/dialer.js';
import { RouteTable } from './routes.js';
import type { ProxyConfig } from './schema.js';

/** A config compiled for the stages; connections share it until the next reload. */
export interface CompiledConfig {
  /** The keys stages read as they are (listen, timeouts, limits). */
  readonly config: ProxyConfig;
  readonly routes: RouteTable;
  readonly policy: AddressPolicy;
  /** Empty: any endpoint (or no PROXY header) may connect. */
  readonly allowedVpcEndpointIds: ReadonlySet<string>;
  readonly keepAlive: KeepAliveSettings;
  readonly resolver: ResolverOptions;
}

/** Throws the stage's own error (EKL_CIDR_INVALID...) when a part does not compile. */
export function compileConfig(config: ProxyConfig): CompiledConfig {
  return {
    config,
    routes: RouteTable.fromConfig(config),
    policy: AddressPolicy.fromCidrs(config.allowedUpstreamCidrs),
    allowedVpcEndpointIds: new Set(config.proxyProtocol.allowedVpcEndpointIds),
    keepAlive: {
      initialDelayMs: config.connections.keepAliveInitialDelayMs,
      intervalMs: config.connections.keepAliveIntervalMs,
      count: config.connections.keepAliveCount,
    },
    resolver: resolverOptions(config.dns),
  };
}

/** dns config -> Resolver options. */
function resolverOptions(dns: ProxyConfig['dns']): ResolverOptions {
  return {
    servers: dns.servers,
    timeoutMs: dns.timeoutMs,
    tries: dns.tries,
    staleMaxAgeMs: dns.staleMaxAgeMs,
    serveStaleAfterMs: dns.serveStaleAfterMs,
    shareWindowMs: dns.shareWindowMs,
    ipv6: dns.ipv6,
  };
}
