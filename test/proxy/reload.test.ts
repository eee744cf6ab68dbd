import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyConfigInput } from '../../proxy/config.js';
import { TestDnsServer } from '../../testbed/dns-server.js';
import { createPki, type TestPki } from '../../testbed/pki.js';
import {
  openStream,
  parseMetrics,
  ProxyProcess,
  startStreamUpstream,
  tryHandshake,
} from './lifecycle-harness.js';

// This file's loopback block: 127.0.211.0/24.
const ALPHA = 'alpha.gr7.us-east-1.eks.amazonaws.com';
const BETA = 'beta.gr7.us-east-1.eks.amazonaws.com';
let dns: TestDnsServer;
let pki: TestPki;
let upstream: Awaited<ReturnType<typeof startStreamUpstream>>;
let proxy: ProxyProcess;

function config(snis: string[]): ProxyConfigInput {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    routes: snis.map((sni) => ({ sni, upstreamPort: upstream.port })),
    allowedUpstreamCidrs: ['127.0.211.0/24'],
    dns: { servers: [dns.server], timeoutMs: 500, tries: 1 },
    health: { host: '127.0.0.1', port: 0, probeIntervalMs: 100 },
    drain: { graceSec: 0, deadlineSec: 1 },
    workers: 1,
  };
}

beforeAll(async () => {
  dns = await TestDnsServer.start();
  pki = await createPki({ dnsNames: [ALPHA, BETA] });
  upstream = await startStreamUpstream('127.0.211.1', pki, 50);
  dns.set(ALPHA, { a: ['127.0.211.1'] });
  dns.set(BETA, { a: ['127.0.211.1'] });
  proxy = await ProxyProcess.start(config([ALPHA, BETA]));
});

afterAll(async () => {
  await proxy.kill();
  await Promise.all([dns.close(), upstream.close()]);
});

describe('reload on SIGHUP', () => {
  it('keeps open connections flowing, applies the new allowlist to new ones, and rejects a broken file', async () => {
    expect(await tryHandshake(proxy.port, BETA, pki.caCertPem)).toBe('ok');
    const open = await openStream(proxy.port, BETA, pki.caCertPem, 10_000);
    await sleep(200);

    // Remove beta from the allowlist.
    proxy.rewriteConfig(config([ALPHA]));
    proxy.signal('SIGHUP');
    await proxy.waitFor((e) => e.event === 'config_reloaded');
    const seenAtReload = open.lines.length;
    await sleep(300);
    expect(open.lines.length).toBeGreaterThan(seenAtReload + 2);
    expect(open.socket.destroyed).toBe(false);

    expect(await tryHandshake(proxy.port, BETA, pki.caCertPem)).toMatch(/UNRECOGNIZED_NAME/);
    const refused = await proxy.waitFor((e) => e.event === 'connection' && e.reason === 'sni_not_allowed');
    expect(refused).toMatchObject({ sni: BETA });
    expect(await tryHandshake(proxy.port, ALPHA, pki.caCertPem)).toBe('ok');

    // A file that fails validation: logged with every problem, the running config stays.
    proxy.rewriteConfig({ ...config([ALPHA, BETA]), allowedUpstreamCidrs: ['not-a-cidr'], workers: 0 });
    proxy.signal('SIGHUP');
    const failed = await proxy.waitFor((e) => e.event === 'reload_failed');
    expect(failed).toMatchObject({ level: 'error', code: 'EKL_CONFIG_INVALID' });
    expect(failed.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^allowedUpstreamCidrs\[0\]: /),
        expect.stringMatching(/^workers: /),
      ]),
    );
    // A file that is not even YAML.
    proxy.rewriteConfig('routes: [unclosed');
    proxy.signal('SIGHUP');
    await proxy.waitFor((e) => e.event === 'reload_failed' && e !== failed);

    expect(await tryHandshake(proxy.port, ALPHA, pki.caCertPem)).toBe('ok');
    expect(await tryHandshake(proxy.port, BETA, pki.caCertPem)).toMatch(/UNRECOGNIZED_NAME/);
    expect(open.socket.destroyed).toBe(false);

    const m = parseMetrics((await proxy.health('/metrics')).body);
    expect(m.get('ekslink_config_reloads_total{result="ok"}')).toBe(1);
    expect(m.get('ekslink_config_reloads_total{result="error"}')).toBe(2);
    expect((await proxy.health('/readyz')).status).toBe(200);

    open.socket.destroy();
    proxy.signal('SIGTERM');
    expect((await proxy.exited).code).toBe(0);
  });
});
