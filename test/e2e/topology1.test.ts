/**
 * Topology 1 end to end, from the real outputs, in the order docs/deploy.md gives:
 * `ekslink provision apply --outputs-file` against moto (both accounts) writes the outputs
 * file; the image is the instance kit baked by `ekslink-install bake` into a scratch root
 * (what the image pipeline does to the AMI), pinned in the infra config as `amiId`; the CDK
 * app takes both (in process, as `cdk synth` runs it) and the test reads the proxy config
 * the synthesized fleet user data writes and the systemd unit the image holds; the real
 * proxy bundle runs exactly that config, by the unit's command lines, in a "fleet instance"
 * namespace whose nftables input chain is the fleet security group of the template (ingress
 * only from the NLB's group, i.e. the NLB stand-in's node address); the NLB stand-in is
 * configured from the target group as moto holds it (PROXY v2 on or off, its port and health
 * check) and writes the created endpoint's id in the PrivateLink TLV; the WireGuard hop comes
 * from `ekslink wireguard render --provision-outputs` and the kubeconfig from
 * `ekslink kubeconfig --provision-outputs`. kubectl goes through the whole chain, across an
 * ENI rotation. No value the provisioner created is typed into the fleet config.
 *
 * Every address lives inside namespaces this test creates (172.30/16, 172.31/16,
 * 192.168.100/30, 192.168.200/24, and the 10.x endpoint addresses moto assigned), or on loopback.
 */
import {
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type GcpToAwsOutputsFile } from '../../common/provision-outputs.js';
import { loadAppConfig } from '../../infra/lib/app-config.js';
import { InfraError } from '../../infra/lib/errors.js';
import { ProxyFleet } from '../../infra/lib/proxy-fleet.js';
import { ProxyFleetStack } from '../../infra/lib/proxy-fleet-stack.js';
import { readOutputsFile } from '../../provisioner/outputs-file.js';
import { createPki, type TestPki } from '../../standins/pki.js';
import { fleetProps, onlyResource, rulesOf, userDataOf, type Rule } from '../infra/helpers.js';
import { UNIT_PATH } from '../infra/unit-path.js';
import { startWorld, type World } from '../provisioner/world.js';
import { BUNDLE, NODE, ROOT, requireBundle } from '../proxy/lifecycle-harness.js';
import { bakeScratchRoot } from '../infra/scratch-root.js';
import { cannotRunHere } from '../system-tools.js';
import { NETNS_TOOLS, NetnsLab, netnsUnavailableReason, sh } from '../wireguard/netns-lab.js';
import { FleetInstance, instanceFiles, serviceDirectives, type InstanceFiles } from './fleet-instance.js';
import { applyWithOutputsFile } from './provision-outputs.js';
import { VpcProcess, type VpcFixtureConfig } from './vpc-process.js';
import { PROXY_NODE_FLAGS } from '../../common/node-flags.js';

// kubectl for the client, python3 for moto.
const unavailable = netnsUnavailableReason([...NETNS_TOOLS, 'kubectl', 'python3']);

const FIXTURES = join(ROOT, 'test/e2e/fixtures');
const DEPLOYMENT = 'e2e';
const EKS_HOST = 'e2e0123456789abcdef0123456789abc.gr7.us-east-1.eks.amazonaws.com';
const OTHER_VPCE = 'vpce-0e2e0000000000002';
const GIT_VERSION = 'v1.31.2-eks-e2e0001';
/** The AMI the operator pins after the image pipeline's build (here: the scratch-root bake stands in for it). */
const PIPELINE_AMI = 'ami-0e2e0000000000a01';
/** Seeded VPCs: the provider (data plane: NLB, fleet, EKS) and the consumer (the WireGuard peer's). */
const PROVIDER = '172.31';
const CONSUMER = '172.30';
const GCP_TUNNEL = '192.168.200.2';
const AWS_TUNNEL = '192.168.200.1';
/** The WireGuard peer's own address in the consumer VPC: what the masquerade turns every tunnel source into. */
const PEER_VPC_ADDRESS = `${CONSUMER}.1.10`;
/** The NLB node's address in the provider VPC, and the fleet instance's. */
const NLB_NODE = `${PROVIDER}.10.5`;
const FLEET_IP = `${PROVIDER}.11.2`;
const INTRUDER_IP = `${PROVIDER}.12.2`;
const [ENI_A, ENI_B, ENI_C] = [`${PROVIDER}.3.10`, `${PROVIDER}.3.11`, `${PROVIDER}.3.12`] as const;
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A log line's time (pino writes epoch milliseconds). */
function timeOf(e: Readonly<Record<string, unknown>>): number {
  return typeof e.time === 'number' ? e.time : Date.parse(String(e.time));
}

/** The infra config an operator writes for the fleet: only what the provisioner does not know. */
function handWrittenFleet(world: World) {
  return {
    region: 'us-east-1',
    privateSubnetIds: world.provider.subnetIds,
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    clusterSecurityGroupId: 'sg-0e2e00000000000c1',
    awsEndpointsSecurityGroupId: 'sg-0e2e00000000000a1',
    s3PrefixListId: 'pl-63a5400a',
    amiId: PIPELINE_AMI,
  };
}

/** The fleet stack as `cdk synth` builds it (infra/bin/app.ts), in a child process. */
async function synthFleetInChild(infraConfigPath: string, outPath: string): Promise<Template> {
  const args = ['--import', 'tsx', join(FIXTURES, 'synth-fleet.ts'), infraConfigPath, UNIT_PATH, outPath];
  // Synth is CPU-heavy: on a busy machine it takes far longer than a shell command.
  await promisify(execFile)(NODE, args, { timeout: 180_000 });
  return Template.fromJSON(JSON.parse(await readFile(outPath, 'utf8')) as Record<string, unknown>);
}

/** The same in process: for configs that must fail before any resource exists. */
function synthFleet(infraConfigPath: string): Template {
  const config = loadAppConfig(infraConfigPath);
  const app = new App();
  const stack = new ProxyFleetStack(app, `ekslink-${config.deploymentName}-proxy-fleet`, {
    ...config.proxyFleet!.props,
    systemdUnitPath: UNIT_PATH,
    deploymentName: config.deploymentName,
    env: config.proxyFleet!.env,
  });
  return Template.fromStack(stack);
}

/**
 * The fleet security group as nftables in the instance's namespace: each ingress rule of
 * the template from the NLB's group admits the NLB node's address on its port; anything
 * else arriving new is dropped (a security group denies by default).
 */
function securityGroupRules(rules: readonly Rule[], nlbGroupId: string): string {
  const accepts = rules
    .filter((r) => r.direction === 'ingress')
    .map((r) => {
      if (r.peer !== nlbGroupId) throw new Error(`fleet ingress from ${r.peer}, not the NLB's group`);
      return `\t\tip saddr ${NLB_NODE} ${r.protocol} dport ${r.fromPort}-${r.toPort} accept`;
    });
  return [
    'table inet ekslink_sg {',
    '\tchain input {',
    '\t\ttype filter hook input priority 0; policy drop;',
    '\t\tiifname "lo" accept',
    '\t\tct state established,related accept',
    ...accepts,
    '\t\tcounter drop',
    '\t}',
    '}',
    '',
  ].join('\n');
}

describe('topology 1 end to end from the provisioner outputs: kubectl → WireGuard → NLB → proxy → EKS', () => {
  if (cannotRunHere(unavailable, 'the topology 1 end-to-end test')) return;
  const lab = new NetnsLab();
  const timings: Record<string, number> = {};
  let world: World | undefined;
  let dir = '';
  let outputsPath = '';
  let infraConfigPath = '';
  let outputs: GcpToAwsOutputsFile;
  let tgAttrs: Record<string, string>;
  let tgPort = 0;
  let healthCheck = { port: 0, path: '' };
  let template: Template;
  let files: InstanceFiles;
  let gcpNs = '';
  let awsNs = '';
  let vpcNs = '';
  let fleetNs = '';
  let intruderNs = '';
  let pki: TestPki;
  let vpc: VpcProcess | undefined;
  let proxy: FleetInstance | undefined;
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
  async function versionThroughChain() {
    // The proxy flushes its log every second: the next line to arrive may be the previous
    // call's. This call's connection is the first one that closed after it started.
    const startedAt = Date.now();
    const stdout = await kubectl();
    const line = await proxy!.waitFor((e) => e.event === 'connection' && timeOf(e) >= startedAt, 5000);
    return { version: JSON.parse(stdout) as { gitVersion: string }, line };
  }

  async function tlsProbe(ns: string, host: string, port: number, timeoutMs: number): Promise<Probe> {
    const args = [join(FIXTURES, 'tls-probe.mjs'), host, String(port), EKS_HOST, join(dir, 'ca.pem')];
    return JSON.parse((await lab.exec(ns, NODE, [...args, String(timeoutMs)])).stdout) as Probe;
  }

  async function httpProbe(ns: string, host: string, port: number, path: string, timeoutMs: number) {
    const args = [join(FIXTURES, 'http-probe.mjs'), host, String(port), path, String(timeoutMs)];
    return JSON.parse((await lab.exec(ns, NODE, args)).stdout) as { status?: number; error?: string };
  }

  async function forwardDropCount(): Promise<number> {
    const { stdout } = await lab.exec(awsNs, 'nft', ['-j', 'list', 'chain', 'inet', 'ekslink', 'forward']);
    return dropCounter(stdout, (expr) => JSON.stringify(expr).includes('"iifname"'));
  }

  async function securityGroupDropCount(): Promise<number> {
    const { stdout } = await lab.exec(fleetNs, 'nft', ['-j', 'list', 'chain', 'inet', 'ekslink_sg', 'input']);
    return dropCounter(stdout, () => true);
  }

  function dropCounter(json: string, pick: (expr: Record<string, unknown>[]) => boolean): number {
    const items = (JSON.parse(json) as { nftables: { rule?: { expr: Record<string, unknown>[] } }[] })
      .nftables;
    let packets = 0;
    for (const item of items) {
      const expr = item.rule?.expr ?? [];
      const counter = expr.find((e) => 'counter' in e)?.counter as { packets: number } | undefined;
      if (counter && pick(expr) && expr.some((e) => 'drop' in e)) packets += counter.packets;
    }
    return packets;
  }

  /**
   * Connection lines come at close and the proxy flushes its log each second: wait until
   * none arrived for 1.2 s (bounded: 8 s).
   */
  async function settled(): Promise<number> {
    const until = Date.now() + 8000;
    let count = proxy!.connections().length;
    while (Date.now() < until) {
      await sleep(1200);
      const now = proxy!.connections().length;
      if (now === count) return now;
      count = now;
    }
    return count;
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
    // The namespaces and links need nothing from AWS: they are made while apply and synth run.
    const network = buildNetwork();
    network.catch(() => undefined);

    // 1. provision apply (both accounts, against moto) writes the outputs file.
    world = await startWorld({ providerCidr: PROVIDER, consumerCidr: CONSUMER });
    outputsPath = join(dir, 'provision-outputs.json');
    await applyWithOutputsFile(world, DEPLOYMENT, outputsPath, (c) => {
      c.eks.hostname = EKS_HOST;
      c.consumer.allowedCidrs = [`${PEER_VPC_ADDRESS}/32`];
    });
    const file = await readOutputsFile(outputsPath);
    if (file.topology !== 'gcp-to-aws') throw new Error(`outputs of ${file.topology}`);
    outputs = file.outputs;
    // The target group as AWS (moto) holds it: the NLB stand-in is configured from this.
    const elbv2 = world.aws.provider.elbv2;
    const tg = (
      await elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [outputs.targetGroupArn!] }))
    ).TargetGroups![0]!;
    tgPort = tg.Port!;
    healthCheck = { port: Number(tg.HealthCheckPort), path: tg.HealthCheckPath! };
    tgAttrs = Object.fromEntries(
      (
        (await elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn })))
          .Attributes ?? []
      ).map((a) => [a.Key!, a.Value!]),
    );
    timings.provisionMs = performance.now() - started;

    // 2. cdk synth of the fleet from the infra config that names the outputs file.
    infraConfigPath = join(dir, 'infra.json');
    await writeFile(
      infraConfigPath,
      JSON.stringify({
        deploymentName: DEPLOYMENT,
        provisionOutputsFile: 'provision-outputs.json',
        proxyFleet: handWrittenFleet(world),
      }),
    );
    const synthesizing = synthFleetInChild(infraConfigPath, join(dir, 'fleet.template.json'));
    synthesizing.catch(() => undefined);
    // Meanwhile the image amiId stands for: the kit baked as the pipeline bakes the AMI.
    const image = bakeScratchRoot(join(dir, 'image'), { unitPath: UNIT_PATH });
    template = await synthesizing;
    if (image.bake.status !== 0) throw new Error(`ekslink-install bake failed: ${image.bake.stderr}`);
    files = instanceFiles(userDataOf(template), image.root);
    timings.synthMs = performance.now() - started;
    await network;

    // 3. What the network takes from the outputs: endpoint addresses, resolver, the group.
    for (const address of outputs.vpcEndpointAddresses) {
      await sh('ip', ['-n', vpcNs, 'addr', 'add', `${address}/32`, 'dev', lab.name('v1')]);
      await sh('ip', ['-n', awsNs, 'route', 'add', `${address}/32`, 'dev', lab.name('v0')]);
    }
    await sh('ip', ['-n', vpcNs, 'addr', 'add', `${outputs.dnsResolverIp!}/32`, 'dev', 'lo']);
    // The fleet security group of the template, as the instance's input chain.
    const sgFile = join(dir, 'fleet-sg.nft');
    const fleetSg = onlyResource(template, 'AWS::EC2::SecurityGroup')[0];
    await writeFile(
      sgFile,
      securityGroupRules(rulesOf(template, fleetSg), outputs.loadBalancerSecurityGroupId!),
    );
    await lab.exec(fleetNs, 'nft', ['-f', sgFile]);
    // kubectl dials the VPC endpoint DNS name; `ip netns exec` mounts this file over /etc/hosts.
    const etc = join('/etc/netns', gcpNs);
    lab.removeAtCleanup(etc);
    await mkdir(etc, { recursive: true });
    await writeFile(
      join(etc, 'hosts'),
      `127.0.0.1 localhost\n${outputs.vpcEndpointAddresses[0]} ${outputs.vpcEndpointDnsNames[0]}\n`,
    );
    await wireguardHop();
    timings.tunnelMs = performance.now() - started;
    await kubeconfigs();
    await vpcAndFleet();
    timings.setupMs = performance.now() - started;
  }, 240_000);

  /** Namespaces, links and routes that do not depend on what the provisioner created. */
  async function buildNetwork(): Promise<void> {
    gcpNs = await lab.addNamespace('gcp');
    awsNs = await lab.addNamespace('aws');
    vpcNs = await lab.addNamespace('vpc');
    fleetNs = await lab.addNamespace('fleet');
    intruderNs = await lab.addNamespace('intr');
    await lab.link(
      { ns: gcpNs, ifname: lab.name('u0'), cidr: '192.168.100.1/30' },
      { ns: awsNs, ifname: lab.name('u1'), cidr: '192.168.100.2/30' },
    );
    // The consumer VPC: the peer, and the endpoint's addresses (PrivateLink ends in the NLB stand-in).
    await lab.link(
      { ns: awsNs, ifname: lab.name('v0'), cidr: `${PEER_VPC_ADDRESS}/24` },
      { ns: vpcNs, ifname: lab.name('v1'), cidr: `${CONSUMER}.1.1/24` },
    );
    // A route back to the tunnel range: only the rendered rules decide what crosses.
    await sh('ip', ['-n', vpcNs, 'route', 'add', '192.168.200.0/24', 'via', PEER_VPC_ADDRESS]);
    // The provider VPC, routed by the "vpc" namespace: the NLB node, the resolver and the
    // EKS ENIs there, the fleet instance and a host outside the NLB's group on their own links.
    await lab.link(
      { ns: vpcNs, ifname: lab.name('f0'), cidr: `${PROVIDER}.11.1/30` },
      { ns: fleetNs, ifname: lab.name('f1'), cidr: `${FLEET_IP}/30` },
    );
    await lab.link(
      { ns: vpcNs, ifname: lab.name('i0'), cidr: `${PROVIDER}.12.1/30` },
      { ns: intruderNs, ifname: lab.name('i1'), cidr: `${INTRUDER_IP}/30` },
    );
    await sh('ip', ['-n', fleetNs, 'route', 'add', 'default', 'via', `${PROVIDER}.11.1`]);
    await sh('ip', ['-n', intruderNs, 'route', 'add', 'default', 'via', `${PROVIDER}.12.1`]);
    await lab.exec(vpcNs, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    for (const a of [NLB_NODE, ENI_A, ENI_B, ENI_C])
      await sh('ip', ['-n', vpcNs, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
  }

  /** 4. The WireGuard hop: `wireguard render --provision-outputs` (endpoint addresses from the file). */
  async function wireguardHop(): Promise<void> {
    const wgIface = { gcp: lab.name('wg'), aws: lab.name('wa') };
    const out = join(dir, 'wireguard');
    await writeFile(
      join(dir, 'wireguard.json'),
      JSON.stringify({
        gcp: { interfaceName: wgIface.gcp, tunnelAddress: GCP_TUNNEL },
        aws: {
          interfaceName: wgIface.aws,
          tunnelAddress: AWS_TUNNEL,
          endpointHost: '192.168.100.2',
          nftablesFile: join(out, 'aws', `${wgIface.aws}.nft`),
        },
      }),
    );
    await cli([
      'wireguard',
      'render',
      '--config',
      join(dir, 'wireguard.json'),
      '--provision-outputs',
      outputsPath,
      '--out-dir',
      out,
    ]);
    for (const [ns, side, iface] of [
      [awsNs, 'aws', wgIface.aws],
      [gcpNs, 'gcp', wgIface.gcp],
    ] as const) {
      const conf = join(out, side, `${iface}.conf`);
      lab.onCleanup(() => lab.exec(ns, 'wg-quick', ['down', conf], USERSPACE));
      lab.removeAtCleanup(`/var/run/wireguard/${iface}.sock`);
      await lab.exec(ns, 'wg-quick', ['up', conf], USERSPACE);
    }
  }

  /** 5. The kubeconfigs: `kubeconfig --provision-outputs` (server and tls-server-name from the file). */
  async function kubeconfigs(): Promise<void> {
    pki = await createPki({ dnsNames: [EKS_HOST] });
    const token = `e2e-${lab.id}-token`;
    await writeFile(join(dir, 'ca.pem'), pki.caCertPem);
    await writeFile(join(dir, 'token'), token, { mode: 0o600 });
    const kubeconfigArgs = ['kubeconfig', '--provision-outputs', outputsPath, '--cluster-name', 'e2e'];
    kubeconfigArgs.push('--token-file', join(dir, 'token'));
    await cli([...kubeconfigArgs, '--ca-file', join(dir, 'ca.pem'), '--out', join(dir, 'kubeconfig')]);
    await writeFile(join(dir, 'other-ca.pem'), (await createPki({ dnsNames: [EKS_HOST] })).caCertPem);
    await cli([
      ...kubeconfigArgs,
      '--ca-file',
      join(dir, 'other-ca.pem'),
      '--out',
      join(dir, 'wrong-ca.kubeconfig'),
    ]);
  }

  /** 6. The VPC (resolver, EKS ENIs, NLB stand-in), then the fleet instance, then the NLB. */
  async function vpcAndFleet(): Promise<void> {
    const fixture: VpcFixtureConfig = {
      eksHostname: EKS_HOST,
      enis: [ENI_A, ENI_B],
      endpoints: outputs.vpcEndpointAddresses,
      vpcEndpointId: outputs.vpcEndpointId!,
      otherVpcEndpointId: OTHER_VPCE,
      pki,
      gitVersion: GIT_VERSION,
      token: `e2e-${lab.id}-token`,
      dns: { host: outputs.dnsResolverIp!, port: 53 },
      eksPort: 443,
      nlbNodeAddress: NLB_NODE,
    };
    await writeFile(join(dir, 'vpc.json'), JSON.stringify(fixture), { mode: 0o600 });
    vpc = new VpcProcess(
      lab.spawnIn(vpcNs, NODE, ['--import', 'tsx', join(FIXTURES, 'vpc.ts'), join(dir, 'vpc.json')]),
    );
    await vpc.ready;
    proxy = await FleetInstance.start(files, dir, fleetNs);
    ({ otherPort } = await vpc.send<{ otherPort: number }>({
      cmd: 'nlb',
      target: { host: FLEET_IP, port: tgPort },
      proxyProtocolV2: tgAttrs['proxy_protocol_v2.enabled'] === 'true',
    }));
    // The target goes healthy the way the NLB sees it: its health check, from its node.
    const healthyBy = Date.now() + 20_000;
    for (;;) {
      const r = await vpc.send<{ status?: number }>({
        cmd: 'healthCheck',
        target: { host: FLEET_IP, port: healthCheck.port },
        path: healthCheck.path,
      });
      if (r.status === 200) break;
      if (Date.now() > healthyBy) throw new Error(`target never healthy: ${JSON.stringify(r)}`);
      await sleep(200);
    }
  }

  afterAll(async () => {
    vpc?.child.stdin?.end();
    await proxy?.kill();
    await lab.cleanup();
    await world?.stop();
    console.info(
      `topology 1 e2e timings (ms): ${JSON.stringify(timings, (_, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`,
    );
  }, 30_000);

  it('the fleet takes every value the provisioner created from the outputs file, none typed by hand', async () => {
    // The infra config names none of them.
    const infra = JSON.parse(await readFile(infraConfigPath, 'utf8')) as {
      proxyFleet: Record<string, unknown>;
    };
    for (const key of [
      'vpcId',
      'vpcCidr',
      'eksApiHostnames',
      'targetGroupArn',
      'loadBalancerSecurityGroupId',
      'proxyProtocolMode',
      'allowedVpcEndpointIds',
      'allowedUpstreamCidrs',
      'dnsResolverIp',
      'healthPort',
    ])
      expect(infra.proxyFleet, key).not.toHaveProperty(key);
    // The proxy config user data writes pairs with the target group as AWS holds it.
    expect(tgAttrs).toMatchObject({
      'proxy_protocol_v2.enabled': 'true',
      'deregistration_delay.timeout_seconds': String(outputs.targetGroup!.deregistrationDelaySec),
      'deregistration_delay.connection_termination.enabled': 'false',
    });
    const config = parseYaml(files.proxyConfig) as Record<string, Record<string, unknown>>;
    expect(config).toMatchObject({
      listen: { host: '0.0.0.0', port: tgPort },
      routes: [{ sni: EKS_HOST }],
      allowedUpstreamCidrs: outputs.upstreamCidrs,
      dns: { servers: [outputs.dnsResolverIp] },
      proxyProtocol: { mode: 'required', allowedVpcEndpointIds: [outputs.vpcEndpointId] },
      health: { port: healthCheck.port },
    });
    const drain = config.drain as { graceSec: number; deadlineSec: number };
    expect(Number(tgAttrs['deregistration_delay.timeout_seconds'])).toBeGreaterThanOrEqual(
      drain.graceSec + drain.deadlineSec,
    );
    // The fleet boots the pinned image; user data installs nothing, the unit is the image's
    // (the packaging unit, baked by ekslink-install), whose ExecStart the instance ran.
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ ImageId: PIPELINE_AMI }),
    });
    expect(userDataOf(template)).not.toMatch(/\bdnf\b|ekslink-install bake/);
    expect(serviceDirectives(files.unit, 'ExecStart')).toEqual([
      `/usr/bin/node ${PROXY_NODE_FLAGS.join(' ')} /opt/ekslink/dist/ekslink.mjs proxy --config /etc/ekslink/proxy.yaml`,
    ]);
    expect(files.dropIn).toMatch(/^TimeoutStopSec=\d+$/m);
    // The ASG joins the created target group; the fleet group admits only the NLB's group.
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      TargetGroupARNs: [outputs.targetGroupArn],
    });
    const fleetSg = onlyResource(template, 'AWS::EC2::SecurityGroup')[0];
    expect(
      rulesOf(template, fleetSg)
        .filter((r) => r.direction === 'ingress')
        .map((r) => `${r.fromPort}<${r.peer}`),
    ).toEqual(
      [
        `${healthCheck.port}<${outputs.loadBalancerSecurityGroupId}`,
        `${tgPort}<${outputs.loadBalancerSecurityGroupId}`,
      ].sort(),
    );
  });

  it('kubectl gets /version through the whole chain, TLS verified against the cluster CA', async () => {
    const started = performance.now();
    const { version, line } = await versionThroughChain();
    timings.firstKubectlMs = performance.now() - started;
    expect(version.gitVersion).toBe(GIT_VERSION);
    expect(line).toMatchObject({ reason: 'ok', sni: EKS_HOST, vpcEndpointId: outputs.vpcEndpointId });
    expect([`${ENI_A}:443`, `${ENI_B}:443`]).toContain(line.upstreamAddress);
    // The proxy's TCP peer is the NLB node: the client address it logs comes from the PROXY
    // header, which carries the masqueraded tunnel source.
    const nlb = vpc!.nlbConnections().find((e) => e.sourcePort === line.clientPort);
    expect(nlb).toMatchObject({
      vpcEndpointId: outputs.vpcEndpointId,
      destination: `${outputs.vpcEndpointAddresses[0]}:443`,
    });
    expect(line).toMatchObject({ clientAddress: PEER_VPC_ADDRESS, clientPort: nlb!.sourcePort });
    await expect(kubectl(join(dir, 'wrong-ca.kubeconfig'))).rejects.toThrow(
      /certificate signed by unknown authority/,
    );
  });

  it('keeps working across an ENI rotation under a steady kubectl loop, and the new ENI serves', async () => {
    const started = performance.now();
    const before = await served();
    const connectionsBefore = proxy!.connections().length;
    const result = { ok: 0, failed: 0, errors: [] as string[] };
    let stop = false;
    // Bounded: at most 80 calls, and it stops when the rotation is done.
    const loop = (async () => {
      for (let i = 0; i < 80 && !stop; i++) {
        try {
          const v = JSON.parse(await kubectl()) as { gitVersion: string };
          if (v.gitVersion !== GIT_VERSION) throw new Error(`gitVersion ${v.gitVersion}`);
          result.ok++;
        } catch (err) {
          result.failed++;
          result.errors.push((err as Error).message.slice(0, 200));
        }
      }
    })();
    // At least two calls complete before and after each step (bounded: 30 s per step).
    const progress = async (calls: number) => {
      const target = result.ok + result.failed + calls;
      const until = Date.now() + 30_000;
      while (result.ok + result.failed < target && Date.now() < until) await sleep(50);
    };
    // EKS replaces ENI A with C: the new one comes up, DNS moves, then the old one goes.
    await progress(2);
    await vpc!.send({ cmd: 'addEni', address: ENI_C });
    await progress(2);
    await vpc!.send({ cmd: 'dns', a: [ENI_B, ENI_C] });
    await progress(2);
    await vpc!.send({ cmd: 'removeEni', address: ENI_A });
    await progress(2);
    stop = true;
    await loop;
    timings.rotationMs = performance.now() - started;
    await settled();
    const lines = proxy!.connections().slice(connectionsBefore);
    const after = await served();
    const upstreams = new Set(lines.map((l) => l.upstreamAddress));
    console.info(
      `topology 1 e2e rotation: ${result.ok + result.failed} kubectl calls, ${result.ok} ok, ${result.failed} failed; ` +
        `${lines.length} proxy connections (${lines.filter((l) => l.reason !== 'ok').length} not ok); ` +
        `served by ENI: A ${after[ENI_A]! - before[ENI_A]!}, B ${after[ENI_B]! - before[ENI_B]!}, C ${after[ENI_C]! - before[ENI_C]!}`,
    );
    expect(result.errors).toEqual([]);
    expect(result.ok).toBeGreaterThanOrEqual(8);
    expect(lines.every((l) => l.reason === 'ok' && l.vpcEndpointId === outputs.vpcEndpointId)).toBe(true);
    // After the rotation the proxy reaches C; A served nothing after it was removed.
    expect(upstreams).toContain(`${ENI_C}:443`);
    expect(after[ENI_C]! - before[ENI_C]!).toBeGreaterThanOrEqual(1);
    const removedAt = await served();
    const { version } = await versionThroughChain();
    expect(version.gitVersion).toBe(GIT_VERSION);
    expect((await served())[ENI_A]).toBe(removedAt[ENI_A]);
  });

  it('a host in the VPC but outside the NLB security group reaches neither the proxy nor /metrics', async () => {
    // Control: from the NLB node, the data port and the health port answer (/metrics too).
    const fromNlb = await vpc!.send<{ status?: number }>({
      cmd: 'healthCheck',
      target: { host: FLEET_IP, port: healthCheck.port },
      path: '/metrics',
    });
    expect(fromNlb).toEqual({ status: 200 });
    // The intruder can route to the instance (the VPC forwards) but the group drops it: no
    // TCP handshake, so no forged PROXY header ever reaches the proxy.
    const connectionsBefore = proxy!.connections().length;
    const dropsBefore = await securityGroupDropCount();
    expect(await tlsProbe(intruderNs, FLEET_IP, tgPort, 1500)).toMatchObject({
      tcp: false,
      error: 'timeout',
    });
    expect(await httpProbe(intruderNs, FLEET_IP, healthCheck.port, '/metrics', 1500)).toMatchObject({
      error: 'timeout',
    });
    expect(await securityGroupDropCount()).toBeGreaterThan(dropsBefore);
    // Nothing reached the proxy from the intruder: a direct connection would be logged with
    // its TCP peer as the client and no (or a forged) PROXY header. Lines of earlier
    // connections that close late may still arrive, all from the NLB.
    await settled();
    const since = proxy!.connections().slice(connectionsBefore);
    expect(since.filter((l) => l.clientAddress === INTRUDER_IP || l.reason !== 'ok')).toEqual([]);
  });

  it('drops a connection through the tunnel to the endpoint address on a port other than 443', async () => {
    expect(await tlsProbe(vpcNs, outputs.vpcEndpointAddresses[0]!, otherPort, 3000)).toMatchObject({
      tcp: true,
    });
    const dropsBefore = await forwardDropCount();
    const result = await tlsProbe(gcpNs, outputs.vpcEndpointAddresses[0]!, otherPort, 1500);
    expect(result).toMatchObject({ tcp: false, tls: false, error: 'timeout' });
    expect(await forwardDropCount()).toBeGreaterThan(dropsBefore);
  });

  it('refuses a PROXY header with a VPC endpoint ID other than the one the provisioner created', async () => {
    const servedBefore = await served();
    const startedAt = Date.now();
    const result = await tlsProbe(vpcNs, outputs.vpcEndpointAddresses[0]!, otherPort, 3000);
    expect(result).toMatchObject({ tcp: true, tls: false });
    const line = await proxy!.waitFor((e) => e.event === 'connection' && timeOf(e) >= startedAt, 5000);
    expect(line).toMatchObject({ reason: 'vpce_not_allowed' });
    expect(vpc!.nlbConnections().at(-1)).toMatchObject({ vpcEndpointId: OTHER_VPCE });
    expect(await served()).toEqual(servedBefore);
  });

  it('a mismatched PROXY v2 pairing fails at synth, not at runtime', async () => {
    // By hand against the outputs file: the conflict names both values.
    const bad = join(dir, 'infra-pp2-off.json');
    const infra = JSON.parse(await readFile(infraConfigPath, 'utf8')) as {
      proxyFleet: Record<string, unknown>;
    };
    await writeFile(
      bad,
      JSON.stringify({ ...infra, proxyFleet: { ...infra.proxyFleet, proxyProtocolMode: 'off' } }),
    );
    expect(() => synthFleet(bad)).toThrow(InfraError);
    expect(() => synthFleet(bad)).toThrow(
      `proxyFleet.proxyProtocolMode is "off" but provisionOutputsFile ${outputsPath} has targetGroup.proxyProtocolV2 true`,
    );
    // Without the file: the construct refuses a proxy that would read no header.
    expect(
      () =>
        new ProxyFleet(new Stack(new App(), 'S'), 'F', {
          ...fleetProps({ systemdUnitPath: UNIT_PATH }),
          proxyProtocolMode: 'required',
          targetGroupSettings: { ...outputs.targetGroup!, proxyProtocolV2: false },
        }),
    ).toThrow(/props\.proxyProtocolMode must be "off": the target group does not send PROXY protocol v2/);
  });
});
