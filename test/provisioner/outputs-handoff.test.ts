/**
 * The hand-off from `provision apply` to the WireGuard hop and the kubeconfig: apply against
 * moto (+ the endpoint-connections fake) writes the outputs file; `wireguard render` and
 * `kubeconfig` read it through the real CLI; wg-quick and kubectl read what they render.
 */
import { DescribeNetworkInterfacesCommand, DescribeVpcEndpointsCommand } from '@aws-sdk/client-ec2';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../common/errors.js';
import { runProvision } from '../../provisioner/command.js';
import { allowedActions } from '../../provisioner/iam/policy.js';
import {
  OUTPUTS_FILE_FORMAT,
  OUTPUTS_FILE_VERSION,
  readOutputsFile,
  type GcpToAwsOutputsFile,
} from '../../provisioner/outputs-file.js';
import { endpointAddresses } from '../../provisioner/topologies/gcp-to-aws/endpoint-addresses.js';
import type { GcpToAwsContext } from '../../provisioner/topologies/gcp-to-aws/context.js';
import { gcpToAws } from '../../provisioner/topologies/gcp-to-aws/index.js';
import { mergeEndpointAddresses } from '../../provisioner/wireguard/from-outputs.js';
import { createPki } from '../../standins/pki.js';
import { fakeAwsCli, kubectl } from '../kubeconfig/helpers.js';
import { EKS_HOST, startWorld, type World } from './world.js';

const execFileP = promisify(execFile);
const NODE = resolve('node_modules/.bin/node');

async function ekslink(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(NODE, ['--import', 'tsx', 'cli/main.ts', ...args], {
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The small render config: only what the provisioner cannot know. */
const SMALL = {
  gcp: { tunnelAddress: '10.200.0.2' },
  aws: { tunnelAddress: '10.200.0.1', endpointHost: '203.0.113.10' },
};

let world: World;
let dir: string;
let outputsPath: string;
let outputs: GcpToAwsOutputsFile;
let stdoutJson: { outputs: Record<string, unknown> };

beforeAll(async () => {
  world = await startWorld();
  dir = mkdtempSync(join(tmpdir(), 'ekslink-handoff-'));
  const configPath = join(dir, 'deploy.yaml');
  writeFileSync(configPath, stringify(world.config('handoff')));
  outputsPath = join(dir, 'outputs.json');
  const lines: string[] = [];
  const code = await runProvision(
    'apply',
    { topology: 'gcp-to-aws', config: configPath, yes: true, output: 'json', outputsFile: outputsPath },
    {
      out: (line) => lines.push(line),
      interactive: false,
      confirm: () => Promise.reject(new Error('must not ask with --yes')),
      deps: { pollIntervalMs: 5 },
    },
  );
  expect(code).toBe(0);
  stdoutJson = JSON.parse(lines.join('\n')) as typeof stdoutJson;
  const file = await readOutputsFile(outputsPath);
  if (file.topology !== 'gcp-to-aws') throw new Error(`unexpected topology ${file.topology}`);
  outputs = file.outputs;
}, 120_000);

afterAll(async () => {
  await world?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('provision apply --outputs-file', () => {
  test('writes a versioned file whose outputs are the JSON stdout shows', () => {
    const raw = JSON.parse(readFileSync(outputsPath, 'utf8')) as Record<string, unknown>;
    expect(raw).toMatchObject({
      format: OUTPUTS_FILE_FORMAT,
      version: OUTPUTS_FILE_VERSION,
      topology: 'gcp-to-aws',
      deployment: 'handoff',
    });
    expect(raw.outputs).toEqual(stdoutJson.outputs);
    expect(statSync(outputsPath).mode & 0o777).toBe(0o644);
  });

  test("the endpoint addresses are the private IPv4 addresses of the endpoint's ENIs, one per subnet", async () => {
    const ec2 = world.aws.consumer.ec2;
    const ep = (await ec2.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [outputs.vpcEndpointId!] })))
      .VpcEndpoints![0]!;
    // moto creates one ENI per subnet of an interface endpoint.
    expect(ep.NetworkInterfaceIds).toHaveLength(world.consumer.subnetIds.length);
    const enis = (
      await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ep.NetworkInterfaceIds }))
    ).NetworkInterfaces!;
    const expected = [...enis]
      .sort((a, b) => a.SubnetId!.localeCompare(b.SubnetId!))
      .map((e) => e.PrivateIpAddress!);
    expect(expected).toHaveLength(2);
    expect(outputs.vpcEndpointAddresses).toEqual(expected);
    expect(outputs.eksHostname).toBe(EKS_HOST);
    expect(outputs.vpcEndpointDnsNames[0]).toMatch(/^vpce-/);
  });

  test('the consumer IAM policy covers DescribeNetworkInterfaces', () => {
    expect(allowedActions(gcpToAws.iamPolicy('consumer'))).toContain('ec2:DescribeNetworkInterfaces');
  });

  test('an endpoint without network interfaces has no addresses, and no account-wide Describe is made', async () => {
    const ctx = {
      consumer: {
        call: () => Promise.reject(new Error('DescribeNetworkInterfaces with no IDs lists every ENI')),
      },
    } as unknown as GcpToAwsContext;
    expect(await endpointAddresses(ctx, { VpcEndpointId: 'vpce-1', NetworkInterfaceIds: [] })).toEqual([]);
    expect(await endpointAddresses(ctx, { VpcEndpointId: 'vpce-1' })).toEqual([]);
  });

  test('a file of another version or format is refused with the fix', async () => {
    const path = join(dir, 'v1.json');
    const raw = JSON.parse(readFileSync(outputsPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify({ ...raw, version: 1 }));
    const err = await readOutputsFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.join('\n')).toContain(
      `version: must be ${OUTPUTS_FILE_VERSION}: this ekslink reads outputs files of version 2`,
    );
  });
});

/** Write `wg` as the config file `configName` in the test dir, then `ekslink wireguard render` it with `outputs` into `outName`. */
async function renderWireguard(wg: unknown, configName: string, outputs: string, outName: string) {
  const config = join(dir, configName);
  writeFileSync(config, stringify(wg));
  const out = join(dir, outName);
  const res = await ekslink([
    'wireguard',
    'render',
    '--config',
    config,
    '--provision-outputs',
    outputs,
    '--out-dir',
    out,
  ]);
  return { config, out, res };
}

describe('wireguard render --provision-outputs', () => {
  test('endpoint addresses come from the outputs: nftables set and AllowedIPs hold exactly them; wg-quick strip parses both ends', async () => {
    const { out, res } = await renderWireguard(SMALL, 'wg.yaml', outputsPath, 'wg');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);

    const nft = readFileSync(join(out, 'aws/ekslink0.nft'), 'utf8');
    const sets = [...nft.matchAll(/elements = \{ ([^}]*) \}/g)].map((m) => m[1]!.split(', '));
    expect(sets).toEqual([outputs.vpcEndpointAddresses]);
    expect(nft).toContain('ip daddr @vpc_endpoint tcp dport 443 ct state new accept');

    const gcpConf = join(out, 'gcp/ekslink0.conf');
    const awsConf = join(out, 'aws/ekslink0.conf');
    const gcp = (await execFileP('wg-quick', ['strip', gcpConf])).stdout;
    await execFileP('wg-quick', ['strip', awsConf]);
    const allowed = /^AllowedIPs = (.*)$/m.exec(gcp)![1]!.split(', ');
    expect(allowed).toEqual(outputs.vpcEndpointAddresses.map((a) => `${a}/32`));
  });

  test('the same addresses in the config (any order) agree; different ones are an error naming both', async () => {
    const addresses = [...outputs.vpcEndpointAddresses];
    const origins = { config: 'wg.yaml', outputs: 'outputs.json' };
    const merged = mergeEndpointAddresses(
      { ...SMALL, vpcEndpoint: { addresses: [...addresses].reverse() } },
      addresses,
      origins,
    ) as { vpcEndpoint: { addresses: string[] } };
    expect(merged.vpcEndpoint.addresses).toEqual(addresses);

    const { config, res } = await renderWireguard(
      { ...SMALL, vpcEndpoint: { addresses: ['10.99.0.7'] } },
      'wg-stale.yaml',
      outputsPath,
      'wg-stale',
    );
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('error EKL_WG_OUTPUTS_CONFLICT');
    expect(res.stderr).toContain(`vpcEndpoint.addresses in ${config} is [10.99.0.7]`);
    expect(res.stderr).toContain(
      `vpcEndpointAddresses in ${outputsPath} is [${outputs.vpcEndpointAddresses.join(', ')}]`,
    );
  });

  test('outputs without endpoint addresses are refused with a clear message', async () => {
    // What apply writes when the endpoint has no network interfaces (yet).
    const empty = join(dir, 'no-addresses.json');
    const raw = JSON.parse(readFileSync(outputsPath, 'utf8')) as { outputs: Record<string, unknown> };
    writeFileSync(empty, JSON.stringify({ ...raw, outputs: { ...raw.outputs, vpcEndpointAddresses: [] } }));
    const { out, res } = await renderWireguard(SMALL, 'wg-small.yaml', empty, 'wg-empty');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(
      `error EKL_WG_OUTPUTS_NO_ADDRESSES: outputs file ${empty} lists no VPC endpoint addresses (vpcEndpointAddresses is empty)`,
    );
    expect(() => statSync(out)).toThrow(); // nothing rendered
  });
});

describe('kubeconfig --provision-outputs', () => {
  test('server = the regional endpoint DNS name, tls-server-name = the EKS hostname; kubectl reads it', async () => {
    const pki = await createPki({ dnsNames: [EKS_HOST.toLowerCase()] });
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, pki.caCertPem);
    const kubeconfig = join(dir, 'kubeconfig');
    const res = await ekslink([
      'kubeconfig',
      '--provision-outputs',
      outputsPath,
      '--ca-file',
      caFile,
      '--cluster-name',
      'acme',
      '--region',
      'us-east-1',
      '--out',
      kubeconfig,
    ]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    // kubectl may run the exec plugin while viewing: give it the fake aws, never the real one.
    const aws = await fakeAwsCli(join(dir, 'fake-aws'), 'unused');
    const view = await kubectl(
      ['config', 'view', '--kubeconfig', kubeconfig, '--raw', '-o', 'json'],
      aws.binDir,
    );
    expect(view.code).toBe(0);
    const parsed = JSON.parse(view.stdout) as { clusters: { cluster: Record<string, string> }[] };
    expect(parsed.clusters).toHaveLength(1);
    expect(parsed.clusters[0]!.cluster).toMatchObject({
      server: `https://${outputs.vpcEndpointDnsNames[0]}`,
      'tls-server-name': EKS_HOST.toLowerCase(),
    });
  });

  test('a flag that disagrees with the outputs is an error naming both values', async () => {
    const res = await ekslink([
      'kubeconfig',
      '--provision-outputs',
      outputsPath,
      '--server',
      'other.example.com',
      '--ca-data',
      'eA==',
      '--cluster-name',
      'acme',
      '--region',
      'us-east-1',
    ]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('error EKL_KUBECONFIG_OUTPUTS_CONFLICT');
    expect(res.stderr).toContain(
      `--server is other.example.com but vpcEndpointDnsNames[0] in ${outputsPath} is ${outputs.vpcEndpointDnsNames[0]}`,
    );
  });
});
