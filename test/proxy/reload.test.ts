import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { openStream, parseMetrics, tryHandshake, useStreamProxy } from './lifecycle-harness.js';

// This file's loopback block: 127.0.211.0/24.
const ALPHA = 'alpha.gr7.us-east-1.eks.amazonaws.com';
const BETA = 'beta.gr7.us-east-1.eks.amazonaws.com';
const ctx = useStreamProxy({
  block: '127.0.211',
  hostnames: [ALPHA, BETA],
  served: [ALPHA, BETA],
  chunkIntervalMs: 50,
  drainDeadlineSec: 1,
  workers: 1,
});

describe('reload on SIGHUP', () => {
  it('keeps open connections flowing, applies the new allowlist to new ones, and rejects a broken file', async () => {
    expect(await tryHandshake(ctx.proxy.port, BETA, ctx.pki.caCertPem)).toBe('ok');
    const open = await openStream(ctx.proxy.port, BETA, ctx.pki.caCertPem, 10_000);
    await sleep(200);

    // Remove beta from the allowlist.
    ctx.proxy.rewriteConfig(ctx.config([ALPHA]));
    ctx.proxy.signal('SIGHUP');
    await ctx.proxy.waitFor((e) => e.event === 'config_reloaded');
    const seenAtReload = open.lines.length;
    await sleep(300);
    expect(open.lines.length).toBeGreaterThan(seenAtReload + 2);
    expect(open.socket.destroyed).toBe(false);

    expect(await tryHandshake(ctx.proxy.port, BETA, ctx.pki.caCertPem)).toMatch(/UNRECOGNIZED_NAME/);
    const refused = await ctx.proxy.waitFor(
      (e) => e.event === 'connection' && e.reason === 'sni_not_allowed',
    );
    expect(refused).toMatchObject({ sni: BETA });
    expect(await tryHandshake(ctx.proxy.port, ALPHA, ctx.pki.caCertPem)).toBe('ok');

    // A file that fails validation: logged with every problem, the running config stays.
    ctx.proxy.rewriteConfig({
      ...ctx.config([ALPHA, BETA]),
      allowedUpstreamCidrs: ['not-a-cidr'],
      workers: 0,
    });
    ctx.proxy.signal('SIGHUP');
    const failed = await ctx.proxy.waitFor((e) => e.event === 'reload_failed');
    expect(failed).toMatchObject({ level: 'error', code: 'EKL_CONFIG_INVALID' });
    expect(failed.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^allowedUpstreamCidrs\[0\]: /),
        expect.stringMatching(/^workers: /),
      ]),
    );
    // A file that is not even YAML.
    ctx.proxy.rewriteConfig('routes: [unclosed');
    ctx.proxy.signal('SIGHUP');
    await ctx.proxy.waitFor((e) => e.event === 'reload_failed' && e !== failed);

    expect(await tryHandshake(ctx.proxy.port, ALPHA, ctx.pki.caCertPem)).toBe('ok');
    expect(await tryHandshake(ctx.proxy.port, BETA, ctx.pki.caCertPem)).toMatch(/UNRECOGNIZED_NAME/);
    expect(open.socket.destroyed).toBe(false);

    const m = parseMetrics((await ctx.proxy.health('/metrics')).body);
    expect(m.get('ekslink_config_reloads_total{result="ok"}')).toBe(1);
    expect(m.get('ekslink_config_reloads_total{result="error"}')).toBe(2);
    expect((await ctx.proxy.health('/readyz')).status).toBe(200);

    open.socket.destroy();
    ctx.proxy.signal('SIGTERM');
    expect((await ctx.proxy.exited).code).toBe(0);
  });
});
