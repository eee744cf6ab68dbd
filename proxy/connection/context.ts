/** What a connection needs from the config, built once per (re)load and shared by every connection. */
import { RouteTable } from '../config/routes.js';
import type { ProxyConfig } from '../config/schema.js';
import { AddressPolicy } from '../upstream/address-policy.js';
import type { KeepAliveSettings } from '../upstream/dialer.js';

/** Everything a connection needs from the config, built once per (re)load. */
export interface ConnectionContext {
  readonly config: ProxyConfig;
  readonly routes: RouteTable;
  readonly policy: AddressPolicy;
  /** Empty: any endpoint (or no PROXY header) may connect. */
  readonly allowedVpcEndpointIds: ReadonlySet<string>;
  readonly keepAlive: KeepAliveSettings;
}

export function buildConnectionContext(config: ProxyConfig): ConnectionContext {
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
  };
}
