import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EksStandin, ENI_HEADER } from '../../standins/eks-standin.js';
import { renderKubeconfig } from '../../standins/kubeconfig.js';
import { createPki, type TestPki } from '../../standins/pki.js';
import { cannotRunHere, missingCommandsReason } from '../system-tools.js';

const HOST = '3f1b2c9d0e8a7f6b5c4d3e2f1a0b9c8d.gr7.us-east-1.eks.amazonaws.com';
/** The real kubectl, from PATH (scripts/system-deps.sh checks it is there). */
const KUBECTL = 'kubectl';
const run = promisify(execFile);

let pki: TestPki;
let dir: string;
let standins: EksStandin[] = [];

beforeAll(async () => {
  pki = await createPki({ dnsNames: [HOST] });
  dir = await mkdtemp(join(tmpdir(), 'ekslink-standin-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(standins.map((s) => s.close()));
  standins = [];
});

async function start(addresses: string[], extra: { token?: string; watchIntervalMs?: number } = {}) {
  const s = await EksStandin.start({ addresses, pki, ...extra });
  standins.push(s);
  return s;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function get(
  address: string,
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: address, port, path, servername: HOST, ca: pki.caCertPem, agent: false, headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
  });
}

/** Opens a watch and collects parsed events until `count` arrived or the stream ends. */
function watch(address: string, port: number, count: number): Promise<{ events: unknown[]; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const events: unknown[] = [];
    const req = https.get(
      {
        host: address,
        port,
        path: '/api/v1/namespaces/default/configmaps?watch=true',
        servername: HOST,
        ca: pki.caCertPem,
        agent: false,
      },
      (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buf.slice(0, nl)));
            buf = buf.slice(nl + 1);
          }
          if (events.length >= count) {
            req.destroy();
            resolve({ events, ended: false });
          }
        });
        res.on('close', () => resolve({ events, ended: true }));
      },
    );
    req.on('error', (err) => (events.length > 0 ? resolve({ events, ended: true }) : reject(err)));
  });
}

describe('EksStandin', () => {
  it('serves apiserver-shaped /version on every ENI, same port, naming the ENI in a header', async () => {
    const s = await start(['127.0.20.1', '127.0.20.2', '127.0.20.3']);
    expect(s.enis).toEqual(['127.0.20.1', '127.0.20.2', '127.0.20.3']);
    for (const eni of s.enis) {
      const r = await get(eni, s.port, '/version');
      expect(r.status).toBe(200);
      expect(r.headers[ENI_HEADER]).toBe(eni);
      expect(JSON.parse(r.body)).toMatchObject({
        major: '1',
        minor: '31',
        gitVersion: 'v1.31.2-eks-7f9249a',
      });
      expect(s.servedCount(eni)).toBe(1);
    }
    const eni = await get('127.0.20.2', s.port, '/ekslink/eni');
    expect(JSON.parse(eni.body)).toEqual({ eni: '127.0.20.2', gitVersion: 'v1.31.2-eks-7f9249a' });
  });

  it('answers health paths with "ok" and unknown paths with a 404 Status', async () => {
    const s = await start(['127.0.20.4']);
    for (const p of ['/readyz', '/livez', '/healthz']) {
      expect(await get('127.0.20.4', s.port, p)).toMatchObject({ status: 200, body: 'ok' });
    }
    const nf = await get('127.0.20.4', s.port, '/apis/nope');
    expect(nf.status).toBe(404);
    expect(nf.headers[ENI_HEADER]).toBe('127.0.20.4');
    expect(JSON.parse(nf.body)).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
  });

  it('requires the bearer token when one is set', async () => {
    const s = await start(['127.0.20.5'], { token: 'secret-token' });
    expect((await get('127.0.20.5', s.port, '/version')).status).toBe(401);
    expect(
      (await get('127.0.20.5', s.port, '/version', { authorization: 'Bearer secret-token' })).status,
    ).toBe(200);
  });

  it('streams watch events periodically', async () => {
    const s = await start(['127.0.20.6'], { watchIntervalMs: 100 });
    const { events } = await watch('127.0.20.6', s.port, 3);
    expect(events).toHaveLength(3);
    for (const e of events) {
      expect(e).toMatchObject({
        type: 'ADDED',
        object: {
          kind: 'ConfigMap',
          apiVersion: 'v1',
          metadata: { namespace: 'default' },
          data: { servedBy: '127.0.20.6' },
        },
      });
    }
    const rvs = events.map((e) =>
      Number((e as { object: { metadata: { resourceVersion: string } } }).object.metadata.resourceVersion),
    );
    expect(rvs[1]! > rvs[0]! && rvs[2]! > rvs[1]!).toBe(true);
  });

  it("removeEni ends that ENI's open watch and refuses new connections; addEni starts one on the same port", async () => {
    const s = await start(['127.0.20.7', '127.0.20.8'], { watchIntervalMs: 100 });
    const open = watch('127.0.20.7', s.port, 1000);
    const other = watch('127.0.20.8', s.port, 1000);
    await new Promise((r) => setTimeout(r, 350));
    expect(s.openWatches).toBe(2);
    await s.removeEni('127.0.20.7');
    const ended = await open;
    expect(ended.ended).toBe(true);
    expect(ended.events.length).toBeGreaterThan(0);
    expect(s.enis).toEqual(['127.0.20.8']);
    await expect(get('127.0.20.7', s.port, '/version')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(s.openWatches).toBe(1);

    await s.addEni('127.0.20.9');
    expect((await get('127.0.20.9', s.port, '/version')).headers[ENI_HEADER]).toBe('127.0.20.9');
    await s.close();
    expect((await other).ended).toBe(true);
  });

  it('fails to start, with the cause, when the port is taken on an address', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.20.10', r));
    const port = (blocker.address() as net.AddressInfo).port;
    await expect(EksStandin.start({ addresses: ['127.0.20.10'], port, pki })).rejects.toThrow(
      /could not listen/,
    );
    await new Promise((r) => blocker.close(r));
  });
});

describe('EksStandin with the real kubectl', () => {
  if (cannotRunHere(missingCommandsReason(['kubectl']), 'the kubectl stand-in test')) return;
  async function kubeconfigFor(s: EksStandin, address: string, token: string): Promise<string> {
    const file = join(dir, `kubeconfig-${address}`);
    await writeFile(
      file,
      renderKubeconfig({
        server: `https://${address}:${s.port}`,
        tlsServerName: HOST,
        caCertPem: pki.caCertPem,
        token,
      }),
    );
    return file;
  }

  it('kubectl get --raw /version verifies the certificate through tls-server-name', async () => {
    const s = await start(['127.0.20.11'], { token: 'tok-1' });
    const kubeconfig = await kubeconfigFor(s, '127.0.20.11', 'tok-1');
    const { stdout } = await run(
      KUBECTL,
      ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), 'get', '--raw', '/version'],
      {
        timeout: 20_000,
      },
    );
    expect(JSON.parse(stdout)).toMatchObject({ major: '1', minor: '31', gitVersion: 'v1.31.2-eks-7f9249a' });
    expect(s.servedCount('127.0.20.11')).toBeGreaterThanOrEqual(1);
  });

  it('kubectl refuses the server when tls-server-name does not match the certificate', async () => {
    const s = await start(['127.0.20.12']);
    const file = join(dir, 'kubeconfig-wrong-name');
    await writeFile(
      file,
      renderKubeconfig({
        server: `https://127.0.20.12:${s.port}`,
        tlsServerName: 'wrong.example.com',
        caCertPem: pki.caCertPem,
        token: 't',
      }),
    );
    const err = await run(
      KUBECTL,
      ['--kubeconfig', file, '--cache-dir', join(dir, 'cache'), 'get', '--raw', '/version'],
      {
        timeout: 20_000,
      },
    ).catch((e: { stderr: string }) => e);
    expect((err as { stderr: string }).stderr).toMatch(
      /certificate is valid for .*not wrong\.example\.com|x509/,
    );
  });

  it('kubectl get configmaps --watch prints the streamed ConfigMaps', async () => {
    const s = await start(['127.0.20.13'], { token: 'tok-2', watchIntervalMs: 150 });
    const kubeconfig = await kubeconfigFor(s, '127.0.20.13', 'tok-2');
    const child = spawn(
      KUBECTL,
      [
        '--kubeconfig',
        kubeconfig,
        '--cache-dir',
        join(dir, 'cache'),
        'get',
        'configmaps',
        '--watch',
        '-o',
        'name',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const names = await new Promise<string[]>((resolve, reject) => {
      const lines: string[] = [];
      let buf = '';
      const timer = setTimeout(
        () => reject(new Error(`kubectl printed ${JSON.stringify(lines)}; stderr: ${stderr}`)),
        15_000,
      );
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split('\n');
        buf = parts.pop() ?? '';
        lines.push(...parts.filter(Boolean));
        if (lines.length >= 3) {
          clearTimeout(timer);
          resolve(lines);
        }
      });
    });
    child.kill();
    for (const n of names) expect(n).toMatch(/^configmap\/heartbeat-\d+$/);
    expect(new Set(names).size).toBe(names.length);
  });
});
