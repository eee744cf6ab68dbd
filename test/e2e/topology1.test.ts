/**
 * Topology 1 end to end on one machine, with the real parts composed: kubectl in a "GCP"
 * namespace, a WireGuard tunnel (wireguard-go, configs and nftables rules from the real
 * `ekslink wireguard render` CLI) to an "AWS peer" namespace, and a "VPC" namespace holding
 * an NLB stand-in on the VPC endpoint addresses (PROXY v2 with the PrivateLink TLV), the
 * real proxy bundle, a test DNS server and the EKS API stand-in on rotating "ENI" addresses.
 * Every address lives inside namespaces this test creates (10.98.0.0/16) or on loopback.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPki, type TestPki } from '../../testbed/pki.js';
import { BUNDLE, NODE, ProxyProcess, ROOT, requireBundle, type Event } from '../proxy/lifecycle-harness.js';
import { cannotRunHere } from '../system-tools.js';
import { NETNS_TOOLS, NetnsLab, netnsUnavailableReason, sh } from '../wireguard/netns-lab.js';
import { VpcProcess, type VpcFixtureConfig } from './vpc-process.js';

const unavailable = netnsUnavailableReason([...NETNS_TOOLS, 'kubectl']);

const FIXTURES = join(ROOT, 'test/e2e/fixtures');
const EKS_HOST = 'e2e0123456789abcdef0123456789abc.gr7.us-east-1.eks.amazonaws.com';
const VPCE = 'vpce-0e2e0000000000001';
const OTHER_VPCE = 'vpce-0e2e0000000000002';
const VPCE_DNS = `${VPCE}-abcd1234.vpce-svc-0e2e00000000000aa.us-east-1.vpce.amazonaws.com`;
const GIT_VERSION = 'v1.31.2-eks-e2e0001';
const GCP_TUNNEL = '10.98.1.2';
const AWS_TUNNEL = '10.98.1.1';
/** The AWS peer's own VPC address: what the masquerade turns every tunnel source into. */
const AWS_VPC_ADDRESS = '10.98.2.1';
const ENDPOINT_1 = '10.98.2.10';
const ENDPOINT_2 = '10.98.2.11';
const ENI_RANGE = '10.98.3.0/24';
const [ENI_A, ENI_B, ENI_C] = ['10.98.3.10', '10.98.3.11', '10.98.3.12'] as const;
const USERSPACE = {
  WG_QUICK_USERSPACE_IMPLEMENTATION: 'wireguard-go',
  WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1',
};

interface Probe {
  tcp: boolean;
  tls: boolean;
  error?: string;
  ms: number;
}

describe('topology 1 end to end: kubectl → WireGuard → NLB → proxy → EKS', () => {
  if (cannotRunHere(unavailable, 'the topology 1 end-to-end test')) return;
  const lab = new NetnsLab();
  const timings: Record<string, number> = {};
  let gcpNs = '';
  let awsNs = '';
  let vpcNs = '';
  let dir = '';
  let pki: TestPki;
  let vpc: VpcProcess | undefined;
  let proxy: ProxyProcess | undefined;
  let standinPort = 0;
  let otherPort = 0;

  async function kubectl(kubeconfig = join(dir, 'kubeconfig')): Promise<string> {
    const { stdout } = await lab.exec(gcpNs, 'kubectl', [
      '--kubeconfig',
      kubeconfig,
      '--request-timeout=5s',
      'get',
      '--raw',
      '/version',
    ]);
    return stdout;
  }

  /** One kubectl call and the proxy's log line for its connection. */
  async function versionThroughChain(): Promise<{ version: { gitVersion: string }; line: Event }> {
    // The proxy flushes its log every second: the next line to arrive may be the previous
    // call's. This call's connection is the first one that closed after it started.
    const startedAt = Date.now();
    const ours = (e: Event): boolean => e.event === 'connection' && timeOf(e) >= startedAt;
    const stdout = await kubectl();
    const line = await proxy!.waitFor(ours, 5000);
    return { version: JSON.parse(stdout) as { gitVersion: string }, line };
  }

  function timeOf(e: Event): number {
    return typeof e.time === 'number' ? e.time : Date.parse(String(e.time));
  }

  async function probe(ns: string, host: string, port: number, timeoutMs: number): Promise<Probe> {
    const args = [join(FIXTURES, 'tls-probe.mjs'), host, String(port), EKS_HOST, join(dir, 'ca.pem')];
    const { stdout } = await lab.exec(ns, NODE, [...args, String(timeoutMs)]);
    return JSON.parse(stdout) as Probe;
  }

  /** Packets the rendered forward chain dropped from the tunnel. */
  async function forwardDropCount(): Promise<number> {
    const { stdout } = await lab.exec(awsNs, 'nft', ['-j', 'list', 'chain', 'inet', 'ekslink', 'forward']);
    const items = (JSON.parse(stdout) as { nftables: { rule?: { expr: Record<string, unknown>[] } }[] })
      .nftables;
    let packets = 0;
    for (const item of items) {
      const expr = item.rule?.expr ?? [];
      const counter = expr.find((e) => 'counter' in e)?.counter as { packets: number } | undefined;
      if (counter && JSON.stringify(expr).includes('"iifname"') && expr.some((e) => 'drop' in e))
        packets += counter.packets;
    }
    return packets;
  }

  /** Bytes the GCP end received through the tunnel so far. */
  async function tunnelRxBytes(): Promise<number> {
    const { stdout } = await lab.exec(gcpNs, 'wg', ['show', lab.name('wg'), 'transfer']);
    return Number(stdout.trim().split(/\s+/)[1]);
  }

  async function served(): Promise<Record<string, number>> {
    const r = await vpc!.send<{ served: Record<string, number> }>({
      cmd: 'served',
      addresses: [ENI_A, ENI_B, ENI_C],
    });
    return r.served;
  }

  async function cli(args: readonly string[]): Promise<string> {
    return (await sh(NODE, [BUNDLE, ...args])).stdout;
  }

  beforeAll(async () => {
    const started = performance.now();
    requireBundle();
    for (const tool of ['wg', 'wg-quick', 'wireguard-go', 'nft', 'kubectl']) {
      await sh('sh', ['-c', `command -v ${tool}`]).catch(() => {
        throw new Error(
          `${tool} is missing: apt-get update && apt-get install -y wireguard-tools wireguard-go nftables iproute2 (kubectl: see CI)`,
        );
      });
    }
    dir = await mkdtemp(join(tmpdir(), 'ekslink-e2e-'));
    lab.removeAtCleanup(dir);
    gcpNs = await lab.addNamespace('gcp');
    awsNs = await lab.addNamespace('aws');
    vpcNs = await lab.addNamespace('vpc');
    await lab.link(
      { ns: gcpNs, ifname: lab.name('u0'), cidr: '10.98.0.1/30' },
      { ns: awsNs, ifname: lab.name('u1'), cidr: '10.98.0.2/30' },
    );
    await lab.link(
      { ns: awsNs, ifname: lab.name('v0'), cidr: `${AWS_VPC_ADDRESS}/24` },
      { ns: vpcNs, ifname: lab.name('v1'), cidr: `${ENDPOINT_1}/24` },
    );
    await sh('ip', ['-n', vpcNs, 'addr', 'add', `${ENDPOINT_2}/24`, 'dev', lab.name('v1')]);
    // The EKS ENIs are local to the VPC namespace; the proxy reaches them there.
    for (const eni of [ENI_A, ENI_B, ENI_C])
      await sh('ip', ['-n', vpcNs, 'addr', 'add', `${eni}/32`, 'dev', 'lo']);
    // A route back to the tunnel range: only the rendered rules decide what crosses.
    await sh('ip', ['-n', vpcNs, 'route', 'add', '10.98.1.0/24', 'via', AWS_VPC_ADDRESS]);
    // kubectl dials the VPC endpoint DNS name; `ip netns exec` mounts this file over /etc/hosts.
    const etc = join('/etc/netns', gcpNs);
    lab.removeAtCleanup(etc);
    await mkdir(etc, { recursive: true });
    await writeFile(join(etc, 'hosts'), `127.0.0.1 localhost\n${ENDPOINT_1} ${VPCE_DNS}\n`);
    timings.namespacesMs = performance.now() - started;

    // The WireGuard hop, rendered by the CLI exactly as an operator would.
    const wgIface = { gcp: lab.name('wg'), aws: lab.name('wa') };
    const out = join(dir, 'wireguard');
    await writeFile(
      join(dir, 'wireguard.json'),
      JSON.stringify({
        gcp: { interfaceName: wgIface.gcp, tunnelAddress: GCP_TUNNEL },
        aws: {
          interfaceName: wgIface.aws,
          tunnelAddress: AWS_TUNNEL,
          endpointHost: '10.98.0.2',
          nftablesFile: join(out, 'aws', `${wgIface.aws}.nft`),
        },
        vpcEndpoint: { addresses: [ENDPOINT_1, ENDPOINT_2] },
      }),
    );
    await cli(['wireguard', 'render', '--config', join(dir, 'wireguard.json'), '--out-dir', out]);
    for (const [ns, side, iface] of [
      [awsNs, 'aws', wgIface.aws],
      [gcpNs, 'gcp', wgIface.gcp],
    ] as const) {
      const file = join(out, side, `${iface}.conf`);
      lab.onCleanup(() => lab.exec(ns, 'wg-quick', ['down', file], USERSPACE));
      lab.removeAtCleanup(`/var/run/wireguard/${iface}.sock`);
      await lab.exec(ns, 'wg-quick', ['up', file], USERSPACE);
    }
    timings.tunnelMs = performance.now() - started;

    // The cluster's PKI and the kubeconfig, from the real CLI (static-token variant).
    pki = await createPki({ dnsNames: [EKS_HOST] });
    const token = `e2e-${lab.id}-token`;
    await writeFile(join(dir, 'ca.pem'), pki.caCertPem);
    await writeFile(join(dir, 'token'), token, { mode: 0o600 });
    const kubeconfigArgs = ['kubeconfig', '--topology', 'gcp-to-aws', '--server', VPCE_DNS];
    kubeconfigArgs.push(
      '--eks-hostname',
      EKS_HOST,
      '--cluster-name',
      'e2e',
      '--token-file',
      join(dir, 'token'),
    );
    await cli([...kubeconfigArgs, '--ca-file', join(dir, 'ca.pem'), '--out', join(dir, 'kubeconfig')]);
    // The same kubeconfig with another CA: kubectl must refuse the server's certificate.
    await writeFile(join(dir, 'other-ca.pem'), (await createPki({ dnsNames: [EKS_HOST] })).caCertPem);
    await cli([
      ...kubeconfigArgs,
      '--ca-file',
      join(dir, 'other-ca.pem'),
      '--out',
      join(dir, 'wrong-ca.kubeconfig'),
    ]);

    // The VPC: DNS, the EKS stand-in, then the proxy, then the NLB stand-in in front of it.
    const fixture: VpcFixtureConfig = {
      eksHostname: EKS_HOST,
      enis: [ENI_A, ENI_B],
      endpoints: [ENDPOINT_1, ENDPOINT_2],
      vpcEndpointId: VPCE,
      otherVpcEndpointId: OTHER_VPCE,
      pki,
      gitVersion: GIT_VERSION,
      token,
    };
    await writeFile(join(dir, 'vpc.json'), JSON.stringify(fixture), { mode: 0o600 });
    vpc = new VpcProcess(
      lab.spawnIn(vpcNs, NODE, ['--import', 'tsx', join(FIXTURES, 'vpc.ts'), join(dir, 'vpc.json')]),
    );
    const ready = await vpc.ready;
    standinPort = ready.standinPort;
    proxy = await ProxyProcess.start(
      {
        listen: { host: '127.0.0.1', port: 0 },
        routes: [{ sni: EKS_HOST, upstreamPort: standinPort, name: 'e2e' }],
        allowedUpstreamCidrs: [ENI_RANGE],
        dns: { servers: [ready.dns], timeoutMs: 500, tries: 1 },
        health: { host: '127.0.0.1', port: 0 },
        drain: { graceSec: 0, deadlineSec: 1 },
        upstream: { connectTimeoutMs: 500 },
        workers: 1,
        proxyProtocol: { mode: 'required', allowedVpcEndpointIds: [VPCE], timeoutMs: 1000 },
      },
      dir,
      ['ip', 'netns', 'exec', vpcNs],
    );
    ({ otherPort } = await vpc.send<{ otherPort: number }>({ cmd: 'nlb', proxyPort: proxy.port }));
    timings.setupMs = performance.now() - started;
  }, 60_000);

  afterAll(async () => {
    vpc?.child.stdin?.end();
    await proxy?.kill();
    await lab.cleanup();
    console.info(
      `topology 1 e2e timings (ms): ${JSON.stringify(timings, (_, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`,
    );
  }, 30_000);

  it('kubectl gets /version through the whole chain, TLS verified against the cluster CA', async () => {
    const started = performance.now();
    const rxBefore = await tunnelRxBytes();
    const { version, line } = await versionThroughChain();
    timings.firstKubectlMs = performance.now() - started;
    // The reply came back through the tunnel (more than a TLS handshake's worth of bytes).
    expect((await tunnelRxBytes()) - rxBefore).toBeGreaterThan(1000);
    expect(version.gitVersion).toBe(GIT_VERSION);
    expect(line).toMatchObject({ reason: 'ok', sni: EKS_HOST, route: 'e2e', vpcEndpointId: VPCE });
    expect([`${ENI_A}:${standinPort}`, `${ENI_B}:${standinPort}`]).toContain(line.upstreamAddress);

    // The proxy's TCP peer is the NLB stand-in on loopback: the client address it logs can
    // only come from the PROXY header, which carries the masqueraded tunnel source.
    const nlb = vpc!.nlbConnections().find((e) => e.sourcePort === line.clientPort);
    expect(nlb).toMatchObject({ vpcEndpointId: VPCE, destination: `${ENDPOINT_1}:443` });
    expect(line).toMatchObject({ clientAddress: AWS_VPC_ADDRESS, clientPort: nlb!.sourcePort });

    // Verification is real: the same kubeconfig with another CA is refused by kubectl.
    await expect(kubectl(join(dir, 'wrong-ca.kubeconfig'))).rejects.toThrow(
      /certificate signed by unknown authority/,
    );
  });

  it('keeps working across an ENI rotation, and the new ENI serves', async () => {
    const started = performance.now();
    const ok = async () => expect((await versionThroughChain()).version.gitVersion).toBe(GIT_VERSION);
    // EKS replaces ENI A with C: the new one comes up, DNS moves, then the old one goes.
    await vpc!.send({ cmd: 'addEni', address: ENI_C });
    await ok();
    await vpc!.send({ cmd: 'dns', a: [ENI_B, ENI_C] });
    await ok();
    await vpc!.send({ cmd: 'removeEni', address: ENI_A });
    const before = await served();

    // The proxy spreads connections over the answer round-robin: a few calls reach C.
    const upstreams: string[] = [];
    for (let i = 0; i < 4 && !upstreams.includes(`${ENI_C}:${standinPort}`); i++) {
      const { version, line } = await versionThroughChain();
      expect(version.gitVersion).toBe(GIT_VERSION);
      expect(line).toMatchObject({ reason: 'ok', vpcEndpointId: VPCE });
      upstreams.push(line.upstreamAddress as string);
    }
    const after = await served();
    expect(upstreams).toContain(`${ENI_C}:${standinPort}`);
    expect(upstreams).not.toContain(`${ENI_A}:${standinPort}`);
    expect(after[ENI_C]! - before[ENI_C]!).toBeGreaterThanOrEqual(1);
    expect(after[ENI_A]).toBe(before[ENI_A]);
    timings.rotationMs = performance.now() - started;
  });

  it('drops a connection to the endpoint address on a port other than 443', async () => {
    // Control: the listener on that port answers inside the VPC.
    expect(await probe(vpcNs, ENDPOINT_1, otherPort, 3000)).toMatchObject({ tcp: true });
    const dropsBefore = await forwardDropCount();
    const result = await probe(gcpNs, ENDPOINT_1, otherPort, 1500);
    // Dropped, not refused: no TCP handshake at all, only a timeout.
    expect(result).toMatchObject({ tcp: false, tls: false, error: 'timeout' });
    expect(await forwardDropCount()).toBeGreaterThan(dropsBefore);
  });

  it('refuses a PROXY header with a VPC endpoint ID not on the allowlist', async () => {
    const servedBefore = await served();
    const before = proxy!.connections().length;
    const result = await probe(vpcNs, ENDPOINT_1, otherPort, 3000);
    expect(result).toMatchObject({ tcp: true, tls: false });
    await proxy!.waitFor(() => proxy!.connections().length > before, 5000);
    const line = proxy!.connections()[before]!;
    expect(line).toMatchObject({ reason: 'vpce_not_allowed', clientAddress: ENDPOINT_1 });
    expect(line.upstreamAddress).toBeUndefined();
    expect(vpc!.nlbConnections().at(-1)).toMatchObject({ vpcEndpointId: OTHER_VPCE });
    expect(await served()).toEqual(servedBefore);
  });
});
