import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, UsageError } from '../../common/errors.js';
import { createPki, type TestPki } from '../../standins/pki.js';
import { parseServer, resolveTarget } from '../../verify/target.js';

let dir: string;
let pki: TestPki;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ekslink-verify-target-'));
  pki = await createPki({ dnsNames: ['abc.gr7.eu-west-1.eks.amazonaws.com'] });
  await writeFile(join(dir, 'ca.pem'), pki.caCertPem);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function kubeconfig(clusterExtra: Record<string, string>, current = 'peered'): string {
  const cluster = Object.entries({ server: 'https://vpce-0abc.vpce.amazonaws.com', ...clusterExtra })
    .map(([k, v]) => `      ${k}: ${v}`)
    .join('\n');
  return `apiVersion: v1
kind: Config
current-context: ${current}
clusters:
  - name: c1
    cluster:
${cluster}
  - name: c2
    cluster:
      server: https://other.example:6443
contexts:
  - name: peered
    context: { cluster: c1, user: u }
  - name: other
    context: { cluster: c2, user: u }
users:
  - name: u
    user: { token: not-read-by-verify }
`;
}

describe('parseServer', () => {
  it.each([
    ['example.com', 'example.com', 443],
    ['example.com:6443', 'example.com', 6443],
    ['https://example.com', 'example.com', 443],
    ['https://example.com:8443/some/path', 'example.com', 8443],
    ['10.0.1.5', '10.0.1.5', 443],
    ['[fd00::5]:443', 'fd00::5', 443],
  ])('%s -> %s port %i', (input, host, port) => {
    expect(parseServer(input)).toEqual({ host, port });
  });

  it('refuses http:// with an example of the fix', () => {
    expect(() => parseServer('http://example.com')).toThrow(
      /only https:\/\/ is checked; e.g. --server https:\/\/example.com/,
    );
  });
});

describe('resolveTarget', () => {
  it('takes server, tls-server-name and certificate-authority-data from the current context', async () => {
    const path = join(dir, 'kc-data.yaml');
    const data = Buffer.from(pki.caCertPem).toString('base64');
    await writeFile(
      path,
      kubeconfig({
        'tls-server-name': 'abc.gr7.eu-west-1.eks.amazonaws.com',
        'certificate-authority-data': data,
      }),
    );
    const t = await resolveTarget({ kubeconfig: path });
    expect(t).toMatchObject({
      host: 'vpce-0abc.vpce.amazonaws.com',
      port: 443,
      tlsServerName: 'abc.gr7.eu-west-1.eks.amazonaws.com',
      caPem: pki.caCertPem,
      source: `kubeconfig ${path} cluster c1`,
    });
  });

  it('reads certificate-authority relative to the kubeconfig, and picks --context', async () => {
    const path = join(dir, 'kc-file.yaml');
    await writeFile(path, kubeconfig({ 'certificate-authority': 'ca.pem' }));
    const t = await resolveTarget({ kubeconfig: path });
    expect(t.caPem).toBe(pki.caCertPem);
    expect(t.caSource).toBe(join(dir, 'ca.pem'));
    expect(t.tlsServerName).toBe('vpce-0abc.vpce.amazonaws.com');
    const other = await resolveTarget({ kubeconfig: path, context: 'other' });
    expect(other).toMatchObject({ host: 'other.example', port: 6443 });
  });

  it('lets flags override the kubeconfig', async () => {
    const path = join(dir, 'kc-override.yaml');
    await writeFile(path, kubeconfig({}));
    const t = await resolveTarget({ kubeconfig: path, server: '127.0.0.1:9443', tlsServerName: 'x.example' });
    expect(t).toMatchObject({ host: '127.0.0.1', port: 9443, tlsServerName: 'x.example' });
  });

  it('names the contexts there are when --context is wrong', async () => {
    const path = join(dir, 'kc-ctx.yaml');
    await writeFile(path, kubeconfig({}));
    await expect(resolveTarget({ kubeconfig: path, context: 'nope' })).rejects.toThrow(
      /context "nope" not found; contexts: peered, other/,
    );
  });

  it('refuses an IP address as tls-server-name, and no server at all', async () => {
    await expect(resolveTarget({ server: 'a.example', tlsServerName: '10.0.0.1' })).rejects.toBeInstanceOf(
      UsageError,
    );
    await expect(resolveTarget({})).rejects.toThrow(/--server HOST\[:PORT\]/);
  });

  it('refuses a CA file without a certificate', async () => {
    const bad = join(dir, 'not-a-ca.pem');
    await writeFile(bad, 'hello');
    await expect(resolveTarget({ server: 'a.example', caFile: bad })).rejects.toBeInstanceOf(ConfigError);
  });
});
