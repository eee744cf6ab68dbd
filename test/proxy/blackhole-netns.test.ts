import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NetnsLab, sh } from '../wireguard/netns-lab.js';
import { NODE, ROOT } from './lifecycle-harness.js';

const reason =
  process.getuid?.() !== 0
    ? 'not root (network namespaces and nftables need root)'
    : !existsSync('/usr/sbin/nft')
      ? 'no nft binary'
      : undefined;

const lab = new NetnsLab();
afterAll(() => lab.cleanup());

interface WorldResult {
  failed: number;
  phase1Ms: number;
  slow: number;
  servedGone: number;
  servedLive: number;
  withFailures: { address: string; result: string; errno: string }[][];
  timeoutMetric: number;
  afterGone: number;
  keepalive: { ms: number; reason: string; errno?: string };
}

describe.skipIf(reason !== undefined)('an ENI that DNS still returns but that drops every packet', () => {
  it('costs no connection, a few pay the per-attempt timeout, and it is used again once it answers', async () => {
    const ns = await lab.addNamespace('bh');
    for (const a of ['10.77.0.1', '10.77.0.11', '10.77.0.12', '10.77.0.53'])
      await sh('ip', ['-n', ns, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, NODE, '--import', 'tsx', join(ROOT, 'test/proxy/netns-blackhole-world.ts')],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code, err).toBe(0);
    const r = JSON.parse(out.trim().split('\n').pop() as string) as WorldResult;

    expect(r.failed).toBe(0);
    expect(r.servedGone).toBe(0);
    expect(r.servedLive).toBe(100);
    // Only a connection whose turn put the silent address first paid the timeout, then it was skipped.
    expect(r.slow).toBeGreaterThanOrEqual(1);
    expect(r.slow).toBeLessThanOrEqual(3);
    expect(r.withFailures.length).toBe(r.slow);
    for (const failures of r.withFailures)
      expect(failures).toEqual([
        { address: expect.stringMatching(/^10\.77\.0\.12:\d+$/), result: 'timeout', errno: 'ETIMEDOUT' },
      ]);
    expect(r.timeoutMetric).toBe(r.slow);
    // Answering again, it takes its share once the failure memory has passed.
    expect(r.afterGone).toBeGreaterThanOrEqual(5);
    // Keepalive with interval and count finds the silent peer of an open connection.
    expect(r.keepalive).toMatchObject({ reason: 'upstream_error', errno: 'ETIMEDOUT' });
    expect(r.keepalive.ms).toBeLessThan(8000);
  }, 60_000);
});
