import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { EkslinkError } from '../../common/errors.js';
import { bundlePaths, renderBundle, writeBundle } from '../../provisioner/wireguard/bundle.js';
import { parseWireguardConfig, type WireguardConfigInput } from '../../provisioner/wireguard/config.js';
import { generateKeyPair, publicKeyFromPrivate } from '../../provisioner/wireguard/keys.js';
import { requireHere } from '../system-tools.js';
import { NetnsLab, netnsUnavailableReason } from './netns-lab.js';

const execFileP = promisify(execFile);
const NODE = resolve('node_modules/.bin/node');

const input: WireguardConfigInput = {
  gcp: { tunnelAddress: '10.200.0.2' },
  aws: { tunnelAddress: '10.200.0.1', endpointHost: '203.0.113.10' },
  vpcEndpoint: { addresses: ['10.0.1.23', '10.0.2.45'] },
};

const tempDirs: string[] = [];
afterAll(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ekslink-wg-render-'));
  tempDirs.push(dir);
  return dir;
}

/** `wg-quick strip`: wg-quick's own parser; fails on a malformed file. */
async function strip(path: string): Promise<string> {
  return (await execFileP('wg-quick', ['strip', path])).stdout;
}

/** key -> values of a wg(8) config, by section. */
function sections(text: string): { section: string; entries: [string, string][] }[] {
  const out: { section: string; entries: [string, string][] }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) out.push({ section: header[1]!, entries: [] });
    else {
      const [key, ...rest] = line.split('=');
      out.at(-1)!.entries.push([key!.trim(), rest.join('=').trim()]);
    }
  }
  return out;
}

async function renderInto(dir: string, data: WireguardConfigInput, rotateKeys = false) {
  const config = parseWireguardConfig(data);
  const result = await renderBundle(config, dir, { rotateKeys });
  await writeBundle(dir, result.files);
  return { config, result, paths: bundlePaths(config) };
}

describe('wireguard render', () => {
  it('renders both ends so that wg-quick strip parses them into exactly the wg(8) keys expected', async () => {
    const dir = await tempDir();
    const { result, paths } = await renderInto(dir, input);

    const gcp = sections(await strip(join(dir, paths.gcpConf)));
    expect(gcp.map((s) => s.section)).toEqual(['Interface', 'Peer']);
    expect(gcp[0]!.entries.map(([k]) => k)).toEqual(['PrivateKey']);
    expect(Object.fromEntries(gcp[1]!.entries)).toEqual({
      PublicKey: result.publicKeys.aws,
      Endpoint: '203.0.113.10:51820',
      AllowedIPs: '10.0.1.23/32, 10.0.2.45/32',
      PersistentKeepalive: '25',
    });
    const gcpPrivate = gcp[0]!.entries[0]![1];
    expect(publicKeyFromPrivate(gcpPrivate)).toBe(result.publicKeys.gcp);

    const aws = sections(await strip(join(dir, paths.awsConf)));
    expect(Object.fromEntries(aws[0]!.entries)).toEqual({
      PrivateKey: expect.any(String),
      ListenPort: '51820',
    });
    expect(Object.fromEntries(aws[1]!.entries)).toEqual({
      PublicKey: result.publicKeys.gcp,
      AllowedIPs: '10.200.0.2/32',
    });

    // The wg-quick-only keys, which strip removes, carry the tunnel setup.
    const gcpText = await readFile(join(dir, paths.gcpConf), 'utf8');
    expect(gcpText).toMatch(/^Address = 10\.200\.0\.2\/32$/m);
    expect(gcpText).toMatch(/^MTU = 1380$/m);
    const awsText = await readFile(join(dir, paths.awsConf), 'utf8');
    expect(awsText).toMatch(/^PostUp = sysctl -q -w net\.ipv4\.ip_forward=1$/m);
    expect(awsText).toMatch(/^PostUp = nft -f \/etc\/wireguard\/ekslink0\.nft$/m);
    expect(awsText).toMatch(/^PostDown = nft delete table inet ekslink$/m);
  });

  it('writes configs with private keys as 0600 and the rules file without secrets', async () => {
    const dir = await tempDir();
    const { paths } = await renderInto(dir, input);
    expect((await stat(join(dir, paths.gcpConf))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, paths.awsConf))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, paths.awsNft))).mode & 0o777).toBe(0o644);
    expect(await readFile(join(dir, paths.awsNft), 'utf8')).not.toMatch(/PrivateKey|[A-Za-z0-9+/]{43}=/);
  });

  it('narrows a config file that already existed with a wider mode', async () => {
    const dir = await tempDir();
    const { paths } = await renderInto(dir, input);
    await chmod(join(dir, paths.gcpConf), 0o644);
    await renderInto(dir, input);
    expect((await stat(join(dir, paths.gcpConf))).mode & 0o777).toBe(0o600);
  });

  it('keeps the keys on re-render and makes new ones with rotateKeys', async () => {
    const dir = await tempDir();
    const first = await renderInto(dir, input);
    expect(first.result.keySources).toEqual({ gcp: 'generated', aws: 'generated' });
    const again = await renderInto(dir, { ...input, vpcEndpoint: { addresses: ['10.0.1.23'] } });
    expect(again.result.keySources).toEqual({ gcp: 'kept', aws: 'kept' });
    expect(again.result.publicKeys).toEqual(first.result.publicKeys);
    expect(await readFile(join(dir, again.paths.gcpConf), 'utf8')).toMatch(
      /^AllowedIPs = 10\.0\.1\.23\/32$/m,
    );
    const rotated = await renderInto(dir, input, true);
    expect(rotated.result.keySources).toEqual({ gcp: 'generated', aws: 'generated' });
    expect(rotated.result.publicKeys.gcp).not.toBe(first.result.publicKeys.gcp);
    expect(rotated.result.publicKeys.aws).not.toBe(first.result.publicKeys.aws);
  });

  it('refuses to silently replace a key it cannot read back', async () => {
    const dir = await tempDir();
    const { paths } = await renderInto(dir, input);
    await writeFile(join(dir, paths.awsConf), '[Interface]\nListenPort = 51820\n');
    await expect(renderInto(dir, input)).rejects.toMatchObject({
      code: 'EKL_WG_EXISTING_CONFIG_UNUSABLE',
      constructor: EkslinkError,
    });
  });

  it('uses an existing key kept on the host: no private key in the file, loaded in PostUp', async () => {
    const dir = await tempDir();
    const gcpHost = generateKeyPair();
    const awsHost = generateKeyPair();
    const { paths } = await renderInto(dir, {
      ...input,
      gcp: {
        tunnelAddress: '10.200.0.2',
        publicKey: gcpHost.publicKey,
        privateKeyFile: '/etc/wireguard/gcp.key',
      },
      aws: {
        tunnelAddress: '10.200.0.1',
        endpointHost: 'wg.example.com',
        listenPort: 51999,
        publicKey: awsHost.publicKey,
        privateKeyFile: '/etc/wireguard/aws.key',
      },
    });
    const gcpText = await readFile(join(dir, paths.gcpConf), 'utf8');
    expect(gcpText).not.toContain('PrivateKey');
    expect(gcpText).toMatch(/^PostUp = wg set %i private-key \/etc\/wireguard\/gcp\.key$/m);
    const gcp = sections(await strip(join(dir, paths.gcpConf)));
    expect(gcp[0]!.entries).toEqual([]);
    expect(Object.fromEntries(gcp[1]!.entries)).toMatchObject({
      PublicKey: awsHost.publicKey,
      Endpoint: 'wg.example.com:51999',
    });
    const aws = sections(await strip(join(dir, paths.awsConf)));
    expect(Object.fromEntries(aws[1]!.entries)).toMatchObject({ PublicKey: gcpHost.publicKey });
  });

  it('brackets an IPv6 peer endpoint', async () => {
    const dir = await tempDir();
    const { paths } = await renderInto(dir, {
      ...input,
      aws: { ...input.aws, endpointHost: '2001:db8::10' },
    });
    const gcp = sections(await strip(join(dir, paths.gcpConf)));
    expect(Object.fromEntries(gcp[1]!.entries).Endpoint).toBe('[2001:db8::10]:51820');
  });

  it('renders nftables rules that nft itself accepts (checked in a scratch netns)', async () => {
    requireHere(netnsUnavailableReason(['ip', 'nft']), 'the nftables check');
    const dir = await tempDir();
    const { paths } = await renderInto(dir, input);
    const lab = new NetnsLab();
    try {
      const ns = await lab.addNamespace('nft');
      // Loading twice proves the declare-then-delete preamble makes PostUp re-runnable.
      await lab.exec(ns, 'nft', ['-f', join(dir, paths.awsNft)]);
      await lab.exec(ns, 'nft', ['-f', join(dir, paths.awsNft)]);
      const listed = (await lab.exec(ns, 'nft', ['list', 'table', 'inet', 'ekslink'])).stdout;
      expect(listed).toContain('elements = { 10.0.1.23, 10.0.2.45 }');
      expect(listed).toContain('iifname "ekslink0" ip daddr @vpc_endpoint tcp dport 443 ct state new accept');
      expect(listed).toContain('masquerade');
      expect(listed.match(/chain /g)).toHaveLength(3);
    } finally {
      await lab.cleanup();
    }
  });
});

describe('ekslink wireguard (CLI)', () => {
  async function cli(args: string[]): Promise<{ code: number; out: string }> {
    try {
      const { stdout, stderr } = await execFileP(NODE, ['--import', 'tsx', 'cli/main.ts', ...args]);
      return { code: 0, out: stdout + stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout + e.stderr };
    }
  }

  it('render prints paths and public keys, never a private key', async () => {
    const dir = await tempDir();
    const configPath = join(dir, 'wg.json');
    await writeFile(configPath, JSON.stringify(input));
    const { code, out } = await cli([
      'wireguard',
      'render',
      '--config',
      configPath,
      '--out-dir',
      join(dir, 'out'),
    ]);
    expect(code).toBe(0);
    const privateKeys = [];
    for (const side of ['gcp', 'aws']) {
      const text = await readFile(join(dir, 'out', side, 'ekslink0.conf'), 'utf8');
      const privateKey = /^PrivateKey = (\S+)$/m.exec(text)![1]!;
      privateKeys.push(privateKey);
      expect(out).toContain(`${side} public key: ${publicKeyFromPrivate(privateKey)} (generated)`);
    }
    expect(out).toContain(join(dir, 'out', 'aws', 'ekslink0.nft'));
    for (const key of privateKeys) expect(out).not.toContain(key);
  });

  it('render reports config problems with exit code 2', async () => {
    const dir = await tempDir();
    const configPath = join(dir, 'wg.yaml');
    await writeFile(configPath, 'gcp: {tunnelAddress: 10.200.0.2}\naws: {tunnelAddress: 10.200.0.1}\n');
    const { code, out } = await cli(['wireguard', 'render', '--config', configPath, '--out-dir', dir]);
    expect(code).toBe(2);
    expect(out).toContain('error EKL_CONFIG_INVALID');
    expect(out).toContain('aws.endpointHost');
    expect(out).toContain('vpcEndpoint');
  });

  it('keygen writes the private key 0600, prints only the public key, and will not overwrite', async () => {
    const dir = await tempDir();
    const keyFile = join(dir, 'ekslink0.key');
    const first = await cli(['wireguard', 'keygen', '--private-key-file', keyFile]);
    expect(first.code).toBe(0);
    const privateKey = (await readFile(keyFile, 'utf8')).trim();
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(first.out.trim()).toBe(publicKeyFromPrivate(privateKey));
    expect(first.out).not.toContain(privateKey);

    const again = await cli(['wireguard', 'keygen', '--private-key-file', keyFile]);
    expect(again.code).toBe(2);
    expect(again.out).toContain('EKL_WG_KEY_FILE_EXISTS');
    expect((await readFile(keyFile, 'utf8')).trim()).toBe(privateKey);

    const forced = await cli(['wireguard', 'keygen', '--private-key-file', keyFile, '--force']);
    expect(forced.code).toBe(0);
    expect((await readFile(keyFile, 'utf8')).trim()).not.toBe(privateKey);
  });
});
