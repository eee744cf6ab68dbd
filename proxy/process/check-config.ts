/**
 * `ekslink proxy --check-config FILE` and `--print-config FILE`: the checks `runProxy`
 * makes before it binds, then a summary of the config for a person, or the whole config
 * (every default filled in) as JSON for a program. `--print-config` is also how a serving
 * proxy reads its file (config-loader.ts), so the two cannot disagree.
 */
import { compileConfig } from '../config/compile.js';
import { readDeepProbeCa } from '../config/deep-probe-ca.js';
import { loadProxyConfig, type ProxyConfig } from '../config/schema.js';

/** Loads the file and makes every check a start makes; throws ConfigError (or the stage's error). */
export async function validatedConfig(configPath: string): Promise<ProxyConfig> {
  const c = await loadProxyConfig(configPath);
  compileConfig(c);
  await readDeepProbeCa(c);
  return c;
}

/** `--print-config`: one JSON document, `{"ok":true,"config":{…}}`, the shape `--output json` errors share. */
export async function printConfig(configPath: string): Promise<string> {
  return JSON.stringify({ ok: true, config: await validatedConfig(configPath) });
}

/** `--check-config`: everything `runProxy` checks before binding; returns a summary for a person. */
export async function checkConfig(configPath: string): Promise<string> {
  const c = await validatedConfig(configPath);
  const pp = c.proxyProtocol;
  const lines = [
    `${configPath}: valid`,
    `  listen           ${c.listen.host}:${c.listen.port} (${c.workers} worker${c.workers === 1 ? '' : 's'})`,
    `  health           ${c.health.host}:${c.health.port} (/healthz /readyz /metrics), probe every ${c.health.probeIntervalMs} ms` +
      (c.health.deepProbe.enabled ? `, deep probe ${c.health.deepProbe.path}` : ''),
    `  routes           ${c.routes.length}`,
    ...c.routes.map((r) => `    ${r.name}: ${r.sni} -> ${r.upstreamHost}:${r.upstreamPort}`),
    ...(c.defaultRoute === undefined ? [] : [`  default route    ${c.defaultRoute}`]),
    `  upstream CIDRs   ${c.allowedUpstreamCidrs.join(', ')}`,
    `  DNS              ${c.dns.servers.length > 0 ? c.dns.servers.join(', ') : 'system resolvers'}, stale up to ${c.dns.staleMaxAgeMs} ms`,
    `  PROXY v2         ${pp.mode}` +
      (pp.allowedVpcEndpointIds.length > 0 ? `, endpoints ${pp.allowedVpcEndpointIds.join(', ')}` : ''),
    `  drain            grace ${c.drain.graceSec} s, deadline ${c.drain.deadlineSec} s`,
  ];
  return lines.join('\n');
}
