/**
 * End to end through real WireGuard: three network namespaces stand in for the GCP gateway,
 * the AWS WireGuard peer and the VPC (where the "VPC endpoint" ENIs listen). The tunnel is
 * brought up by wg-quick from the rendered files (userspace wireguard-go when the kernel has
 * no WireGuard module), the AWS side loads the rendered nftables rules, and a real TLS
 * connection crosses it. Every address lives only inside these namespaces.
 */
import { type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePaths, renderBundle, writeBundle } from '../../provisioner/wireguard/bundle.js';
import { parseWireguardConfig, type WireguardConfig } from '../../provisioner/wireguard/config.js';
import { createPki } from '../../standins/pki.js';
import { cannotRunHere } from '../system-tools.js';
import { NetnsLab, netnsUnavailableReason, sh } from './netns-lab.js';

const unavailable = netnsUnavailableReason();

const NODE = resolve('node_modules/.bin/node');
const FIXTURES = resolve('test/wireguard/fixtures');
const EKS_HOST = 'abcdef0123456789abcdef0123456789.gr7.us-east-1.eks.amazonaws.com';
const ENI_1 = '10.99.2.10';
const ENI_2 = '10.99.2.11';
const AWS_VPC_ADDRESS = '10.99.2.1';
const GCP_TUNNEL = '10.99.1.2';
const USERSPACE = {
  WG_QUICK_USERSPACE_IMPLEMENTATION: 'wireguard-go',
  WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1',
};

interface ClientResult {
  ok: boolean;
  error?: string;
  authorized?: boolean;
  subject?: string;
  reply?: { local: string; remote: string };
  ms: number;
}

describe('WireGuard hop in network namespaces', () => {
  if (cannotRunHere(unavailable, 'the WireGuard netns test')) return;
  const lab = new NetnsLab();
  let gcpNs = '';
  let awsNs = '';
  let vpcNs = '';
  let dir = '';
  let config: WireguardConfig;
  let server: ChildProcess;

  async function tlsFromGcp(host: string, port: number, timeoutMs = 3000): Promise<ClientResult> {
    const args = [
      join(FIXTURES, 'tls-client.mjs'),
      host,
      String(port),
      EKS_HOST,
      join(dir, 'ca.pem'),
      String(timeoutMs),
    ];
    const { stdout } = await lab.exec(gcpNs, NODE, args);
    return JSON.parse(stdout) as ClientResult;
  }

  async function forwardDropCount(): Promise<number> {
    const { stdout } = await lab.exec(awsNs, 'nft', ['-j', 'list', 'chain', 'inet', 'ekslink', 'forward']);
    const rules = (JSON.parse(stdout) as { nftables: { rule?: { expr: Record<string, unknown>[] } }[] })
      .nftables;
    let packets = 0;
    for (const item of rules) {
      const expr = item.rule?.expr ?? [];
      const counter = expr.find((e) => 'counter' in e)?.counter as { packets: number } | undefined;
      const fromTunnel = JSON.stringify(expr).includes('"iifname"');
      if (counter && fromTunnel && expr.some((e) => 'drop' in e)) packets += counter.packets;
    }
    return packets;
  }

  beforeAll(async () => {
    for (const tool of ['wg', 'wg-quick', 'wireguard-go', 'nft']) {
      await sh('sh', ['-c', `command -v ${tool}`]).catch(() => {
        throw new Error(
          `${tool} is missing: apt-get update && apt-get install -y wireguard-tools wireguard-go nftables iproute2`,
        );
      });
    }
    dir = await mkdtemp(join(tmpdir(), 'ekslink-wg-'));
    lab.removeAtCleanup(dir);
    gcpNs = await lab.addNamespace('gcp');
    awsNs = await lab.addNamespace('aws');
    vpcNs = await lab.addNamespace('vpc');
    // The "internet" between GCP and AWS, and the VPC subnet behind the AWS peer.
    await lab.link(
      { ns: gcpNs, ifname: lab.name('u0'), cidr: '10.99.0.1/30' },
      { ns: awsNs, ifname: lab.name('u1'), cidr: '10.99.0.2/30' },
    );
    await lab.link(
      { ns: awsNs, ifname: lab.name('v0'), cidr: `${AWS_VPC_ADDRESS}/24` },
      { ns: vpcNs, ifname: lab.name('v1'), cidr: `${ENI_1}/24` },
    );
    await sh('ip', ['-n', vpcNs, 'addr', 'add', `${ENI_2}/24`, 'dev', lab.name('v1')]);
    // A route back to the tunnel range, so only the rendered rules (not a missing route)
    // decide what crosses: without them, port 8443 would get through un-NATed.
    await sh('ip', ['-n', vpcNs, 'route', 'add', '10.99.1.0/24', 'via', AWS_VPC_ADDRESS]);

    config = parseWireguardConfig({
      gcp: { interfaceName: lab.name('wg'), tunnelAddress: GCP_TUNNEL },
      aws: {
        interfaceName: lab.name('wa'),
        tunnelAddress: '10.99.1.1',
        endpointHost: '10.99.0.2',
        nftablesFile: join(dir, 'out', 'aws', `${lab.name('wa')}.nft`),
      },
      vpcEndpoint: { addresses: [ENI_1, ENI_2] },
    });
    const rendered = await renderBundle(config, join(dir, 'out'));
    await writeBundle(join(dir, 'out'), rendered.files);

    const pki = await createPki({ dnsNames: [EKS_HOST] });
    await writeFile(join(dir, 'ca.pem'), pki.caCertPem);
    await writeFile(join(dir, 'server.pem'), pki.serverCertPem);
    await writeFile(join(dir, 'server.key'), pki.serverKeyPem, { mode: 0o600 });

    const paths = bundlePaths(config);
    for (const [ns, conf, iface] of [
      [awsNs, paths.awsConf, config.aws.interfaceName],
      [gcpNs, paths.gcpConf, config.gcp.interfaceName],
    ] as const) {
      const file = join(dir, 'out', conf);
      lab.onCleanup(() => lab.exec(ns, 'wg-quick', ['down', file], USERSPACE));
      lab.removeAtCleanup(`/var/run/wireguard/${iface}.sock`);
      await lab.exec(ns, 'wg-quick', ['up', file], USERSPACE);
    }

    // The VPC endpoint stand-in: TLS on 443 (allowed) and 8443 (must be dropped) on both ENIs.
    const binds = [ENI_1, ENI_2].flatMap((a) => [`${a}:443`, `${a}:8443`]);
    server = lab.spawnIn(vpcNs, NODE, [
      join(FIXTURES, 'tls-server.mjs'),
      join(dir, 'server.pem'),
      join(dir, 'server.key'),
      ...binds,
    ]);
    await new Promise<void>((resolveListening, reject) => {
      const lines = createInterface({ input: server.stdout! });
      lines.on('line', (line) => {
        if ((JSON.parse(line) as { event: string }).event === 'listening') resolveListening();
      });
      server.once('exit', (code) => reject(new Error(`TLS stand-in exited early (${code})`)));
    });
  }, 60_000);

  afterAll(async () => {
    await lab.cleanup();
  }, 30_000);

  it('runs both ends on userspace wireguard-go when the kernel has no WireGuard module', () => {
    const userspace = [config.gcp.interfaceName, config.aws.interfaceName].map((i) =>
      existsSync(`/var/run/wireguard/${i}.sock`),
    );
    // wg-quick prefers the kernel module when one is loaded; then the kernel carries the tunnel.
    if (existsSync('/sys/module/wireguard'))
      console.info('WireGuard kernel module present: wg-quick used it');
    else expect(userspace).toEqual([true, true]);
  });

  it('routes only the VPC endpoint addresses through the tunnel, at MTU 1380', async () => {
    const iface = config.gcp.interfaceName;
    for (const eni of [ENI_1, ENI_2]) {
      expect((await lab.exec(gcpNs, 'ip', ['route', 'get', eni])).stdout).toContain(`dev ${iface}`);
    }
    // Nothing else got a route: the AWS peer's VPC address is not reachable from GCP at all.
    await expect(lab.exec(gcpNs, 'ip', ['route', 'get', AWS_VPC_ADDRESS])).rejects.toThrow(/unreachable/i);
    const link = JSON.parse((await lab.exec(gcpNs, 'ip', ['-j', 'link', 'show', iface])).stdout) as {
      mtu: number;
    }[];
    expect(link[0]!.mtu).toBe(1380);
    const keepalive = (await lab.exec(gcpNs, 'wg', ['show', iface, 'persistent-keepalive'])).stdout;
    expect(keepalive.trim().split(/\s+/)[1]).toBe('25');
  });

  it('carries a verified TLS connection to each endpoint address, masqueraded behind the AWS peer', async () => {
    for (const eni of [ENI_1, ENI_2]) {
      const result = await tlsFromGcp(eni, 443);
      expect(result).toMatchObject({ ok: true, authorized: true, subject: EKS_HOST });
      expect(result.reply?.local).toBe(`${eni}:443`);
      // The VPC sees the peer's own VPC address, never the GCP tunnel address.
      expect(result.reply?.remote).toBe(AWS_VPC_ADDRESS);
    }
    const handshake = (await lab.exec(gcpNs, 'wg', ['show', config.gcp.interfaceName, 'latest-handshakes']))
      .stdout;
    expect(Number(handshake.trim().split(/\s+/)[1])).toBeGreaterThan(0);
  });

  it('drops any other port from the tunnel, although the listener is there', async () => {
    // Control: the 8443 listener answers from the AWS peer itself (not forwarded traffic).
    const direct = await lab.exec(awsNs, NODE, [
      join(FIXTURES, 'tls-client.mjs'),
      ENI_1,
      '8443',
      EKS_HOST,
      join(dir, 'ca.pem'),
      '3000',
    ]);
    expect(JSON.parse(direct.stdout)).toMatchObject({ ok: true, authorized: true });

    const before = await forwardDropCount();
    const result = await tlsFromGcp(ENI_1, 8443, 1500);
    // Dropped, not refused: the SYN never reaches the VPC, so the client only times out.
    expect(result).toMatchObject({ ok: false, error: 'timeout', connected: false });
    expect(await forwardDropCount()).toBeGreaterThan(before);
  });

  it('removes the nftables table on PostDown', async () => {
    expect((await lab.exec(awsNs, 'nft', ['list', 'tables'])).stdout).toContain('inet ekslink');
    const file = join(dir, 'out', bundlePaths(config).awsConf);
    await lab.exec(awsNs, 'wg-quick', ['down', file], USERSPACE);
    expect((await lab.exec(awsNs, 'nft', ['list', 'tables'])).stdout).not.toContain('ekslink');
  });
});
