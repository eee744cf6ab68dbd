/**
 * Preflight of gcp-to-aws against moto: every referenced VPC and subnet must exist in its
 * account and region and fit together; each bad input makes plan and apply stop with every
 * problem listed (key, value, fix), exit code 2 from the CLI, and nothing created.
 */
import { CreateSubnetCommand, CreateVpcCommand } from '@aws-sdk/client-ec2';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { MSG } from '../../provisioner/engine/messages.js';
import { PreflightError } from '../../provisioner/engine/preflight.js';
import type { GcpToAwsConfigInput } from '../../provisioner/topologies/gcp-to-aws/config.js';
import { NONE, taggedCounts } from './counts.js';
import { CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, open, useWorld } from './world.js';

const world = useWorld();
const MISSING_VPC = 'vpc-0000000000000dead';
const MISSING_SUBNET = 'subnet-000000000000dead';

/** A second VPC and subnets in the provider account, and a consumer subnet in a zone the provider lacks. */
let otherVpc: { vpcId: string; subnetId: string };
let sameZoneSubnet: string;
let unservedSubnet: string;
beforeAll(async () => {
  const p = world.aws.provider.ec2;
  const vpcId = (await p.send(new CreateVpcCommand({ CidrBlock: '10.30.0.0/16' }))).Vpc!.VpcId!;
  const subnetId = (
    await p.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.30.1.0/24', AvailabilityZone: 'us-east-1a' }),
    )
  ).Subnet!.SubnetId!;
  otherVpc = { vpcId, subnetId };
  sameZoneSubnet = (
    await p.send(
      new CreateSubnetCommand({
        VpcId: world.provider.vpcId,
        CidrBlock: '10.10.9.0/24',
        AvailabilityZone: 'us-east-1a',
      }),
    )
  ).Subnet!.SubnetId!;
  unservedSubnet = (
    await world.aws.consumer.ec2.send(
      new CreateSubnetCommand({
        VpcId: world.consumer.vpcId,
        CidrBlock: '10.20.9.0/24',
        AvailabilityZone: 'us-east-1c',
      }),
    )
  ).Subnet!.SubnetId!;
});

async function preflightOf(name: string, patch: (c: GcpToAwsConfigInput) => void) {
  const results: { err: PreflightError; mutations: string[] }[] = [];
  for (const action of ['plan', 'apply'] as const) {
    const { deployment, calls, sink } = await open(world, name, { patch });
    const err = await deployment[action]().catch((e: unknown) => e);
    deployment.close();
    expect(err, action).toBeInstanceOf(PreflightError);
    const problems = sink.withCode(MSG.PREFLIGHT_PROBLEM);
    expect(problems.map((m) => m.data?.key)).toEqual((err as PreflightError).found.map((p) => p.key));
    expect(sink.withCode(MSG.STEP_PLANNED), `${action}: no step ran`).toEqual([]);
    results.push({
      err: err as PreflightError,
      mutations: calls.map((c) => c.operation).filter((o) => !/^(Describe|Get)/.test(o)),
    });
  }
  expect(await taggedCounts(world, name)).toEqual(NONE);
  for (const r of results) expect(r.mutations).toEqual([]);
  return results[0]!.err;
}

describe('preflight: bad input stops plan and apply before anything is created', () => {
  test('a provider VPC that does not exist, and a consumer VPC that does not exist: both listed', async () => {
    const err = await preflightOf('pf-vpcs', (c) => {
      c.provider.vpcId = MISSING_VPC;
      c.consumer.vpcId = MISSING_VPC;
    });
    expect(err.code).toBe('EKL_PROVISION_PREFLIGHT');
    expect(err.found.map((p) => p.key)).toEqual([
      'provider.subnetIds[0]',
      'provider.subnetIds[1]',
      'provider.vpcId',
      'consumer.subnetIds[0]',
      'consumer.subnetIds[1]',
      'consumer.vpcId',
    ]);
    expect(err.found.find((p) => p.key === 'provider.vpcId')).toMatchObject({
      value: MISSING_VPC,
      problem: `does not exist in account ${PROVIDER_ACCOUNT} (us-east-1)`,
    });
    expect(err.message).toContain(
      `consumer.vpcId ${MISSING_VPC}: does not exist in account ${CONSUMER_ACCOUNT}`,
    );
    expect(err.message).toContain(
      `provider.subnetIds[0] ${world.provider.subnetIds[0]}: is in ${world.provider.vpcId}, not in provider.vpcId ${MISSING_VPC}`,
    );
    expect(err.message).toMatch(
      /fix: name a VPC of that account and region \(aws ec2 describe-vpcs --region us-east-1\)/,
    );
  });

  test('subnets of another VPC than vpcId (the target group would land elsewhere)', async () => {
    const err = await preflightOf('pf-other-vpc', (c) => {
      c.provider.vpcId = otherVpc.vpcId;
    });
    expect(err.found).toEqual(
      world.provider.subnetIds.map((id, i) => ({
        account: 'provider',
        key: `provider.subnetIds[${i}]`,
        value: id,
        problem: `is in ${world.provider.vpcId}, not in provider.vpcId ${otherVpc.vpcId}`,
        fix: `name subnets of ${otherVpc.vpcId}, or set provider.vpcId to ${world.provider.vpcId}`,
      })),
    );
  });

  test('a missing subnet, two subnets in one zone, a consumer zone the NLB does not serve', async () => {
    const err = await preflightOf('pf-zones', (c) => {
      c.provider.subnetIds = [...world.provider.subnetIds, sameZoneSubnet, MISSING_SUBNET];
      c.consumer.subnetIds = [world.consumer.subnetIds[0]!, unservedSubnet];
    });
    expect(err.found.map((p) => [p.key, p.value])).toEqual([
      ['provider.subnetIds[2]', sameZoneSubnet],
      ['provider.subnetIds[3]', MISSING_SUBNET],
      ['consumer.subnetIds[1]', unservedSubnet],
    ]);
    expect(err.found[0]!.problem).toBe(
      `is in availability zone us-east-1a, like ${world.provider.subnetIds[0]}; an NLB takes one subnet per zone`,
    );
    expect(err.found[1]!.fix).toContain(`--filters Name=vpc-id,Values=${world.provider.vpcId}`);
    expect(err.found[2]!.problem).toMatch(/^is in zone \S+, where the provider NLB has no subnet/);
  });

  test('a good config passes preflight and says so', async () => {
    const { deployment, sink } = await open(world, 'pf-good');
    await deployment.plan();
    deployment.close();
    expect(sink.withCode(MSG.PREFLIGHT_OK)).toHaveLength(1);
    expect(sink.withCode(MSG.PREFLIGHT_PROBLEM)).toEqual([]);
  });
});

describe('preflight through the CLI', () => {
  const exec = promisify(execFile);
  test('plan exits 2 and prints every problem with its key, value and fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ekslink-preflight-'));
    const path = join(dir, 'bad.yaml');
    const cfg = world.config('pf-cli', (c) => {
      c.provider.vpcId = MISSING_VPC;
    });
    writeFileSync(path, stringify(cfg));
    const res = await exec(
      join(process.cwd(), 'node_modules/.bin/tsx'),
      ['cli/main.ts', 'provision', 'plan', '--topology', 'gcp-to-aws', '--config', path],
      { cwd: process.cwd(), timeout: 30_000 },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(
      'error EKL_PROVISION_PREFLIGHT: preflight of gcp-to-aws deployment pf-cli found 3 problems',
    );
    expect(res.stderr).toContain(
      `  - provider.vpcId ${MISSING_VPC}: does not exist in account ${PROVIDER_ACCOUNT} (us-east-1); fix: `,
    );
  });
});
