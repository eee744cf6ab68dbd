/**
 * The fleet's proxy config, rendered from construct props as the proxy's own input type
 * and validated by the proxy's own schema at synth time: a prop the proxy would reject
 * fails `cdk synth` with the proxy's message instead of failing on every instance at boot.
 */
import { stringify } from 'yaml';
import { parseProxyConfig, type ProxyConfig, type ProxyConfigInput } from '../../proxy/config/schema.js';

/** Where user data writes the file and the systemd unit reads it. */
export const PROXY_CONFIG_PATH = '/etc/ekslink/proxy.yaml';
/** The data port: the NLB target group forwards TCP 443 to 443 on the instance. */
export const PROXY_DATA_PORT = 443;

export interface FleetProxySettings {
  readonly eksApiHostnames: readonly string[];
  readonly allowedUpstreamCidrs: readonly string[];
  readonly allowPublicUpstreamCidrs: boolean;
  readonly dnsResolverIp: string;
  readonly healthPort: number;
  readonly proxyProtocolMode: 'off' | 'required';
  readonly allowedVpcEndpointIds: readonly string[];
  readonly drainGraceSec: number;
  readonly drainDeadlineSec: number;
}

export function renderProxyConfigInput(s: FleetProxySettings): ProxyConfigInput {
  return {
    listen: { host: '0.0.0.0', port: PROXY_DATA_PORT },
    routes: s.eksApiHostnames.map((sni) => ({ sni })),
    allowedUpstreamCidrs: [...s.allowedUpstreamCidrs],
    allowPublicUpstreamCidrs: s.allowPublicUpstreamCidrs,
    // The VPC resolver answers the EKS private hostname; the proxy asks it directly, not getaddrinfo.
    dns: { servers: [s.dnsResolverIp] },
    proxyProtocol: { mode: s.proxyProtocolMode, allowedVpcEndpointIds: [...s.allowedVpcEndpointIds] },
    health: { host: '0.0.0.0', port: s.healthPort },
    drain: { graceSec: s.drainGraceSec, deadlineSec: s.drainDeadlineSec },
    workers: 'auto',
  };
}

/** Validate with the proxy's schema (throws its ConfigError) and return the YAML file text. */
export function renderProxyConfigFile(
  input: ProxyConfigInput,
  origin: string,
): { text: string; parsed: ProxyConfig } {
  const parsed = parseProxyConfig(input, origin);
  const header =
    '# Rendered by the ekslink ProxyFleet construct from its props; edit the stack, not this file.\n';
  return { text: header + stringify(input, { lineWidth: 0 }), parsed };
}
