/**
 * A two-account AWS world for provisioner tests: moto, the endpoint-connections fake in
 * front of it, seeded VPCs and subnets in both accounts, credentials the way users give
 * them (a named profile for the provider, AssumeRole with an external ID for the consumer).
 */
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { CallObserver, ObservedCall } from '../../provisioner/aws/account.js';
import { ManualClock, systemClock, type Clock } from '../../provisioner/engine/clock.js';
import { MemorySink } from '../../provisioner/engine/output.js';
import {
  gcpToAwsConfigSchema,
  type GcpToAwsConfigInput,
} from '../../provisioner/topologies/gcp-to-aws/config.js';
import { gcpToAws } from '../../provisioner/topologies/gcp-to-aws/index.js';
import type { Deployment } from '../../provisioner/topologies/topology.js';
import {
  startEndpointConnectionsFake,
  type EndpointConnectionsFake,
} from './fake-ec2-endpoint-connections.js';
import { startNlbSecurityGroupsFake, type NlbSecurityGroupsFake } from './fake-elbv2-nlb-security-groups.js';
import { startMoto, type MotoServer } from './moto.js';

export const PROVIDER_ACCOUNT = '123456789012'; // moto's default account: the profile's static keys land here
export const CONSUMER_ACCOUNT = '222222222222'; // reached by AssumeRole into a role ARN in this account
export const REGION = 'us-east-1';
export const EKS_HOST = '0123456789ABCDEF0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com';

export interface Network {
  readonly vpcId: string;
  readonly subnetIds: string[];
}

export interface World {
  readonly moto: MotoServer;
  readonly fake: EndpointConnectionsFake;
  /** Between the endpoint-connections fake and moto: NLB security-group rules. */
  readonly nlbFake: NlbSecurityGroupsFake;
  readonly provider: Network;
  readonly consumer: Network;
  /** Raw SDK clients per account, for checking and for out-of-band changes. */
  readonly aws: {
    provider: { ec2: EC2Client; elbv2: ElasticLoadBalancingV2Client };
    consumer: { ec2: EC2Client; elbv2: ElasticLoadBalancingV2Client };
  };
  config(deployment: string, patch?: (c: GcpToAwsConfigInput) => void): GcpToAwsConfigInput;
  stop(): Promise<void>;
}

function rawClients(url: string, account: string, region = REGION) {
  const base = {
    region,
    endpoint: url,
    credentials: { accessKeyId: 'AKIATESTSEED', secretAccessKey: 'x' },
    maxAttempts: 1,
  };
  const ec2 = new EC2Client(base);
  const elbv2 = new ElasticLoadBalancingV2Client(base);
  for (const c of [ec2, elbv2]) {
    (c.middlewareStack as EC2Client['middlewareStack']).add(
      (next) => async (args) => {
        const request = args.request as { headers: Record<string, string> };
        request.headers['x-moto-account-id'] = account;
        return next(args);
      },
      { step: 'build', name: 'motoAccount' },
    );
  }
  return { ec2, elbv2 };
}

async function seedNetwork(ec2: EC2Client, cidr: string, region = REGION): Promise<Network> {
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: `${cidr}.0.0/16` }))).Vpc!.VpcId!;
  const subnetIds: string[] = [];
  for (const [i, az] of [`${region}a`, `${region}b`].entries()) {
    const out = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `${cidr}.${i + 1}.0/24`, AvailabilityZone: az }),
    );
    subnetIds.push(out.Subnet!.SubnetId!);
  }
  return { vpcId, subnetIds };
}

/** A VPC with two subnets (zones a and b) in another region of one account of the world. */
export async function seedNetworkIn(
  world: World,
  account: string,
  region: string,
  cidr: string,
): Promise<Network> {
  const { ec2, elbv2 } = rawClients(world.fake.url, account, region);
  try {
    return await seedNetwork(ec2, cidr, region);
  } finally {
    ec2.destroy();
    elbv2.destroy();
  }
}

/** First two octets of the seeded /16s (provider default 10.10, consumer 10.20). */
export interface WorldOptions {
  readonly providerCidr?: string;
  readonly consumerCidr?: string;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const moto = await startMoto();
  const nlbFake = await startNlbSecurityGroupsFake({ motoUrl: moto.url });
  const fake = await startEndpointConnectionsFake({ motoUrl: nlbFake.url });
  const dir = mkdtempSync(join(tmpdir(), 'ekslink-aws-'));
  writeFileSync(
    join(dir, 'credentials'),
    '[ekslink-test]\naws_access_key_id = AKIAEKSLINKTEST\naws_secret_access_key = test-secret\n',
  );
  writeFileSync(join(dir, 'config'), `[profile ekslink-test]\nregion = ${REGION}\n`);
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
  process.env.AWS_CONFIG_FILE = join(dir, 'config');
  const aws = {
    provider: rawClients(fake.url, PROVIDER_ACCOUNT),
    consumer: rawClients(fake.url, CONSUMER_ACCOUNT),
  };
  const provider = await seedNetwork(aws.provider.ec2, options.providerCidr ?? '10.10');
  const consumer = await seedNetwork(aws.consumer.ec2, options.consumerCidr ?? '10.20');
  return {
    moto,
    fake,
    nlbFake,
    provider,
    consumer,
    aws,
    config(deployment, patch) {
      const endpoints = { ec2: fake.url, elbv2: fake.url, sts: moto.url };
      const cfg: GcpToAwsConfigInput = {
        deployment,
        eks: { hostname: EKS_HOST, clusterName: 'acme' },
        provider: {
          accountId: PROVIDER_ACCOUNT,
          region: REGION,
          credentials: { profile: 'ekslink-test' },
          endpoints,
          vpcId: provider.vpcId,
          subnetIds: provider.subnetIds,
          nlb: { proxyProtocolV2: true, idleTimeoutSec: 3600 },
        },
        consumer: {
          accountId: CONSUMER_ACCOUNT,
          region: REGION,
          credentials: {
            profile: 'ekslink-test',
            roleArn: `arn:aws:iam::${CONSUMER_ACCOUNT}:role/ekslink-provisioner`,
            externalId: 'acme-external-id',
          },
          endpoints,
          vpcId: consumer.vpcId,
          subnetIds: consumer.subnetIds,
          allowedCidrs: ['10.8.0.10/32'],
        },
        timeouts: { nlbActiveSec: 20, endpointAvailableSec: 20 },
      };
      patch?.(cfg);
      return cfg;
    },
    async stop() {
      for (const c of [aws.provider, aws.consumer]) {
        c.ec2.destroy();
        c.elbv2.destroy();
      }
      await fake.stop();
      await nlbFake.stop();
      await moto.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Start one world for the test file (beforeAll) and stop it after (afterAll). The returned
 * World stands for it: read its members inside tests and hooks, once it has started.
 */
export function useWorld(): World {
  let world: World | undefined;
  beforeAll(async () => {
    world = await startWorld();
  }, 60_000);
  afterAll(async () => {
    await world?.stop();
  });
  const started = (): World => {
    if (!world) throw new Error('the world starts in beforeAll: use it inside a test or a hook');
    return world;
  };
  return {
    get moto() {
      return started().moto;
    },
    get fake() {
      return started().fake;
    },
    get nlbFake() {
      return started().nlbFake;
    },
    get provider() {
      return started().provider;
    },
    get consumer() {
      return started().consumer;
    },
    get aws() {
      return started().aws;
    },
    config: (deployment, patch) => started().config(deployment, patch),
    stop: () => started().stop(),
  };
}

export interface Opened {
  readonly deployment: Deployment;
  readonly sink: MemorySink;
  readonly calls: ObservedCall[];
}

/** Open a deployment with a collecting sink, a call recorder and fast polls/retries. */
export async function open(
  world: World,
  deployment: string,
  options: {
    patch?: (c: GcpToAwsConfigInput) => void;
    observer?: CallObserver;
    clock?: Clock;
    maxAttempts?: number;
  } = {},
): Promise<Opened> {
  const sink = new MemorySink();
  const calls: ObservedCall[] = [];
  const config = gcpToAwsConfigSchema.parse(world.config(deployment, options.patch));
  const opened = await gcpToAws.open(config, {
    sink,
    clock: options.clock ?? systemClock,
    pollIntervalMs: 5,
    retryPolicy: {
      maxAttempts: options.maxAttempts ?? 6,
      baseDelayMs: 5,
      maxDelayMs: 40,
      maxElapsedMs: 10_000,
    },
    random: () => 0.5,
    observer: (call) => {
      calls.push(call);
      options.observer?.(call);
    },
  });
  return { deployment: opened, sink, calls };
}

export { ManualClock };
