import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDnsServer } from '../../standins/dns-server.js';
import { createPki, type TestPki } from '../../standins/pki.js';
import { alertListener, apiserverHandler, httpsListener, type Listener } from './listeners.js';

const NAME = 'api.cluster.test';
const NODE = join(process.cwd(), 'node_modules/.bin/node');

let dns: TestDnsServer;
let pki: TestPki;
let dir: string;
let good: Listener;
let refusing: Listener;

beforeAll(async () => {
  dns = await TestDnsServer.start();
  dns.set(NAME, { a: ['127.0.0.1'] });
  pki = await createPki({ dnsNames: [NAME] });
  dir = await mkdtemp(join(tmpdir(), 'ekslink-verify-cli-'));
  await writeFile(join(dir, 'ca.pem'), pki.caCertPem);
  good = await httpsListener(pki, apiserverHandler());
  refusing = await alertListener();
});

afterAll(async () => {
  await Promise.all([good.close(), refusing.close(), dns.close()]);
  await rm(dir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, ['--import', 'tsx', 'cli/main.ts', 'verify', ...args], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const common = (port: number): string[] => [
  '--server',
  `${NAME}:${port}`,
  '--tls-server-name',
  NAME,
  '--ca-file',
  join(dir, 'ca.pem'),
  '--dns-server',
  dns.server,
  '--timeout-ms',
  '3000',
];

describe('ekslink verify (the command)', () => {
  it('exits 0 and prints every hop and gitVersion when the path works', async () => {
    const r = await cli(common(good.port));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[ok {2}\] resolve {7}api\.cluster\.test -> 127\.0\.0\.1 \(\d+(\.\d)? ms\)/);
    expect(r.stdout).toContain('gitVersion v1.31.9-test');
    expect(r.stdout).toMatch(/OK: every hop passed in \d/);
  });

  it('exits 1 and writes one JSON report naming the failed hop with --output json', async () => {
    const r = await cli([...common(refusing.port), '--output', 'json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      failedHop: string;
      hops: { hop: string; code?: string }[];
    };
    expect(report.ok).toBe(false);
    expect(report.failedHop).toBe('tls-handshake');
    expect(report.hops.find((h) => h.hop === 'tls-handshake')?.code).toBe('EKL_VERIFY_TLS_SNI_REFUSED');
  });

  it('exits 2 with a message naming the allowed values for a bad flag', async () => {
    const r = await cli([...common(good.port), '--output', 'yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('output: must be text or json, e.g. --output json');
  });
});
