import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/errors.js';
import { autoWorkers, parseProxyConfig } from '../../proxy/config/schema.js';

const EKS = '0123456789abcdef0123456789abcdef.gr7.us-east-1.eks.amazonaws.com';
const valid = { routes: [{ sni: EKS }], allowedUpstreamCidrs: ['10.0.0.0/16'] };

function problems(data: unknown): string[] {
  try {
    parseProxyConfig(data);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('EKL_CONFIG_INVALID');
    return [...(err as ConfigError).problems];
  }
  throw new Error('config was accepted');
}

/** The problems, or none when the config is accepted. */
function problemsIfAny(data: unknown): string[] {
  try {
    parseProxyConfig(data);
    return [];
  } catch {
    return problems(data);
  }
}

describe('proxy config validation', () => {
  it('fills every default from a minimal config', () => {
    const c = parseProxyConfig(valid);
    expect(c.routes).toEqual([
      { sni: EKS, upstreamHost: EKS, upstreamPort: 443, name: '0123456789abcdef0123456789abcdef' },
    ]);
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 443, backlog: 511 });
    expect(c.dns).toEqual({
      servers: [],
      timeoutMs: 2000,
      tries: 2,
      staleMaxAgeMs: 30_000,
      serveStaleAfterMs: 300,
      shareWindowMs: 100,
      ipv6: false,
    });
    expect(c.clientHello).toEqual({ maxBytes: 16_384, timeoutMs: 5000 });
    expect(c.upstream).toEqual({ connectTimeoutMs: 2000, failureMemoryMs: 30_000 });
    expect(c.connections).toEqual({
      max: 10_000,
      keepAliveInitialDelayMs: 60_000,
      keepAliveIntervalMs: 15_000,
      keepAliveCount: 4,
      idleTimeoutMs: 0,
      halfCloseTimeoutMs: 60_000,
    });
    expect(c.proxyProtocol.mode).toBe('off');
    expect(c.defaultRoute).toBeUndefined();
  });

  it.each([
    [
      { ...valid, routes: [{ sni: '10.0.0.1' }] },
      'routes[0].sni',
      'must be a DNS hostname',
      '"10.0.0.1"',
      'e.g. "0123',
    ],
    [
      { ...valid, routes: [{ sni: '*.example.com' }] },
      'routes[0].sni',
      'no wildcard',
      '"*.example.com"',
      'e.g.',
    ],
    [
      { ...valid, routes: [{ sni: EKS, upstreamPort: 70000 }] },
      'routes[0].upstreamPort',
      'from 1 to 65535',
      '70000',
      'e.g. 443',
    ],
    [{ ...valid, routes: [] }, 'routes', 'at least one allowed SNI', '[]', 'e.g. routes: [{ sni:'],
    [
      { ...valid, allowedUpstreamCidrs: ['10.0.0.0/40'] },
      'allowedUpstreamCidrs[0]',
      'CIDR block',
      '"10.0.0.0/40"',
      '"10.0.0.0/16"',
    ],
    [
      { ...valid, allowedUpstreamCidrs: [] },
      'allowedUpstreamCidrs',
      'at least one block',
      '[]',
      'e.g. ["10.0.0.0/16"]',
    ],
    [
      { ...valid, allowedUpstreamCidrs: ['10.0.0.0/16', '0.0.0.0/0'] },
      'allowedUpstreamCidrs[1]',
      'reaches public internet addresses',
      '"0.0.0.0/0"',
      'allowPublicUpstreamCidrs: true',
    ],
    [
      { ...valid, allowedUpstreamCidrs: ['2600:1f18::/56'] },
      'allowedUpstreamCidrs[0]',
      'reaches public internet addresses',
      '"2600:1f18::/56"',
      'e.g. "10.0.0.0/16"',
    ],
    [{ ...valid, dns: { timeoutMs: 10 } }, 'dns.timeoutMs', 'at least 50', '10', 'e.g. 2000'],
    [
      { ...valid, clientHello: { maxBytes: 100 } },
      'clientHello.maxBytes',
      'at least 512',
      '100',
      'e.g. 16384',
    ],
    [{ ...valid, connections: { max: 0 } }, 'connections.max', 'at least 1', '0', 'e.g. 10000'],
    [
      { ...valid, proxyProtocol: { mode: 'on' } },
      'proxyProtocol.mode',
      '"off" or "required"',
      '"on"',
      'required',
    ],
    [{ ...valid, defaultRoute: 'nope' }, 'defaultRoute', 'must be the name of a route', '"nope"', 'omit it'],
    [
      { ...valid, proxyProtocol: { allowedVpcEndpointIds: ['vpce-0123456789abcdef0'] } },
      'proxyProtocol.allowedVpcEndpointIds',
      'needs proxyProtocol.mode: required',
      'vpce-0123456789abcdef0',
      'required',
    ],
    [
      { ...valid, routes: [{ sni: EKS }, { sni: EKS.toUpperCase() }] },
      'routes[1].sni',
      'duplicates routes[0].sni',
      EKS.toUpperCase(),
      'once',
    ],
  ])(
    'names the key, the value, what is allowed and an example (%#)',
    (data, key, allowed, value, example) => {
      const found = problems(data).find((p) => p.startsWith(`${key}:`));
      expect(found, problems(data).join('\n')).toBeDefined();
      expect(found).toContain(allowed);
      expect(found).toContain('(got ');
      expect(found!.slice(found!.indexOf('(got '))).toContain(value.slice(0, 20));
      expect(found).toContain(example);
    },
  );

  it('takes private blocks, and public ones only with allowPublicUpstreamCidrs', () => {
    const cidrs = ['10.0.0.0/16', '172.31.0.0/16', '192.168.1.0/24', '100.64.0.0/16', 'fd12:3456::/48'];
    expect(problemsIfAny({ ...valid, allowedUpstreamCidrs: cidrs })).toEqual([]);
    expect(problemsIfAny({ ...valid, allowedUpstreamCidrs: ['127.0.10.0/24'] })).toEqual([]);
    expect(problemsIfAny({ ...valid, allowedUpstreamCidrs: ['11.0.0.0/8'] })).toHaveLength(1);
    expect(problemsIfAny({ ...valid, allowedUpstreamCidrs: ['8.0.0.0/7'] })).toHaveLength(1);
    expect(
      problemsIfAny({ ...valid, allowedUpstreamCidrs: ['2600:1f18::/56'], allowPublicUpstreamCidrs: true }),
    ).toEqual([]);
  });

  it('lists every problem at once, and unknown keys by name', () => {
    const all = problems({ ...valid, listen: { port: -1 }, dns: { tries: 0, server: ['x'] } });
    expect(all.some((p) => p.startsWith('listen.port:'))).toBe(true);
    expect(all.some((p) => p.startsWith('dns.tries:'))).toBe(true);
    expect(all.some((p) => p.includes('server'))).toBe(true);
  });
});

describe('workers: auto', () => {
  it('is one process up to 3 vCPUs, then one per two vCPUs', () => {
    expect([1, 2, 3, 4, 8, 16].map(autoWorkers)).toEqual([1, 1, 1, 2, 4, 8]);
  });
});

describe('docs/proxy-config.md', () => {
  const doc = readFileSync(new URL('../../docs/proxy-config.md', import.meta.url), 'utf8');

  it('has a complete example that is valid and sets every key', () => {
    const block = doc.slice(doc.indexOf('## A complete example')).match(/```yaml\n([\s\S]*?)```/)![1]!;
    const config = parseProxyConfig(parseYaml(block));
    expect(config.routes).toHaveLength(2);
    expect(config.proxyProtocol.allowedVpcEndpointIds).toEqual(['vpce-0123456789abcdef0']);
  });

  it('documents every key of the schema', () => {
    const config = parseProxyConfig({ ...valid, defaultRoute: '0123456789abcdef0123456789abcdef' });
    const keys: string[] = [];
    const walk = (value: unknown, path: string): void => {
      if (Array.isArray(value)) {
        if (value.length > 0 && typeof value[0] === 'object') walk(value[0], `${path}[]`);
        else keys.push(path);
      } else if (value !== null && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) walk(v, path === '' ? k : `${path}.${k}`);
      } else keys.push(path);
    };
    walk(config, '');
    expect(keys.length).toBeGreaterThan(30);
    for (const key of keys) expect(doc, key).toContain(`\`${key}\``);
  });
});
