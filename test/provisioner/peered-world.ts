/** The two-account world of the peered-topology tests, built in moto: VPCs, route tables, the EKS SG, a private zone. */
import {
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateVpcCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { PeeredConfigInput } from '../../provisioner/topologies/peered/config.js';
import type { Deployment } from '../../provisioner/topologies/topology.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { startMoto, type MotoServer } from './moto.js';
import { motoCredentials, type StaticCredentials } from './peered-moto-accounts.js';
import { Route53Fake } from './peered-route53-fake.js';

export const REQUESTER = '111111111111';
export const ACCEPTER = '222222222222';
export const REQUESTER_REGION = 'us-east-1';
export const ACCEPTER_REGION = 'eu-west-1';
export const EKS_HOSTNAME = '0A1B2C3D4E5F60718293A4B5C6D7E8F9.gr7.eu-west-1.eks.amazonaws.com';

export interface PeeredWorld {
  readonly requesterVpc: string;
  readonly accepterVpc: string;
  readonly requesterRtb: string;
  readonly accepterRtb: string;
  readonly clusterSg: string;
  readonly zoneId: string;
  ec2(account: string): EC2Client;
  route53(account: string): Route53Client;
  close(): void;
}

/** Build the world; the clients act as each account (assumed-role keys moto maps to it). */
export async function buildWorld(motoUrl: string, route53Url: string): Promise<PeeredWorld> {
  const creds: Record<string, StaticCredentials> = {
    [REQUESTER]: await motoCredentials(motoUrl, REQUESTER),
    [ACCEPTER]: await motoCredentials(motoUrl, ACCEPTER),
  };
  const region = (a: string) => (a === REQUESTER ? REQUESTER_REGION : ACCEPTER_REGION);
  const clients: { destroy(): void }[] = [];
  const ec2 = (a: string) => {
    const c = new EC2Client({ endpoint: motoUrl, region: region(a), credentials: creds[a]!, maxAttempts: 1 });
    clients.push(c);
    return c;
  };
  const route53 = (a: string) => {
    const c = new Route53Client({
      endpoint: route53Url,
      region: 'us-east-1',
      credentials: creds[a]!,
      maxAttempts: 1,
    });
    clients.push(c);
    return c;
  };
  const req = ec2(REQUESTER);
  const acc = ec2(ACCEPTER);
  const requesterVpc = (await req.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }))).Vpc!.VpcId!;
  const accepterVpc = (await acc.send(new CreateVpcCommand({ CidrBlock: '10.2.0.0/16' }))).Vpc!.VpcId!;
  const requesterRtb = (await req.send(new CreateRouteTableCommand({ VpcId: requesterVpc }))).RouteTable!
    .RouteTableId!;
  const accepterRtb = (await acc.send(new CreateRouteTableCommand({ VpcId: accepterVpc }))).RouteTable!
    .RouteTableId!;
  const clusterSg = (
    await acc.send(
      new CreateSecurityGroupCommand({
        GroupName: 'eks-cluster-sg-prod',
        Description: 'EKS created security group',
        VpcId: accepterVpc,
      }),
    )
  ).GroupId!;
  const zone = await route53(ACCEPTER).send(
    new CreateHostedZoneCommand({
      Name: 'k8s.internal.example.',
      CallerReference: `zone-${requesterVpc}`,
      HostedZoneConfig: { PrivateZone: true },
      VPC: { VPCId: accepterVpc, VPCRegion: ACCEPTER_REGION },
    }),
  );
  return {
    requesterVpc,
    accepterVpc,
    requesterRtb,
    accepterRtb,
    clusterSg,
    zoneId: zone.HostedZone!.Id!.replace('/hostedzone/', ''),
    ec2,
    route53,
    close: () => clients.forEach((c) => c.destroy()),
  };
}

/** The topology config for the world; endpoints point at moto (EC2, STS) and the Route 53 fake. */
export function peeredConfig(
  w: PeeredWorld,
  urls: { moto: string; route53: string },
  dnsServer: string,
  extra: Partial<PeeredConfigInput> = {},
): PeeredConfigInput {
  const account = (accountId: string, region: string) => ({
    accountId,
    region,
    credentials: { roleArn: `arn:aws:iam::${accountId}:role/ekslink-provisioner` },
    endpoints: { ec2: urls.moto, sts: urls.moto, elbv2: urls.moto, route53: urls.route53 },
  });
  return {
    deployment: 'acme-peered',
    eks: {
      hostname: EKS_HOSTNAME,
      clusterName: 'prod',
      clusterSecurityGroupId: w.clusterSg,
    },
    requester: {
      ...account(REQUESTER, REQUESTER_REGION),
      vpcId: w.requesterVpc,
      cidr: '10.1.0.0/16',
      routeTableIds: [w.requesterRtb],
    },
    accepter: {
      ...account(ACCEPTER, ACCEPTER_REGION),
      vpcId: w.accepterVpc,
      cidr: '10.2.0.0/16',
      routeTableIds: [w.accepterRtb],
    },
    dns: { checkServers: [dnsServer] },
    ...extra,
  };
}

/** What a peered-topology test file shares: moto, the Route 53 fake, the DNS server and a fresh world per test. */
export interface PeeredHarness {
  readonly moto: MotoServer;
  readonly fake: Route53Fake;
  readonly dns: TestDnsServer;
  readonly world: PeeredWorld;
  /** The topology config for this test's world (see peeredConfig). */
  config(extra?: Partial<PeeredConfigInput>): PeeredConfigInput;
  /** Keep a deployment to close after the test. */
  track(d: Deployment): Deployment;
}

/**
 * Register the hooks of a peered-topology test file: moto and the DNS server once (the EKS
 * hostname answers `eksAddresses`), then per test a reset moto, a Route 53 fake and a new world.
 */
export function usePeeredWorld(eksAddresses: readonly string[]): PeeredHarness {
  let moto: MotoServer;
  let fake: Route53Fake;
  let dns: TestDnsServer;
  let world: PeeredWorld;
  const opened: Deployment[] = [];
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    // Source credentials for the AssumeRole calls of each account (moto accepts any).
    process.env.AWS_ACCESS_KEY_ID = 'AKIAEKSLINKTEST';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    delete process.env.AWS_PROFILE;
    moto = await startMoto();
    dns = await TestDnsServer.start();
  });
  afterAll(async () => {
    await fake?.close();
    await moto?.stop();
    await dns?.close();
    process.env = savedEnv;
  });
  beforeEach(async () => {
    await moto.reset();
    fake = await Route53Fake.start({ motoUrl: moto.url, accounts: [REQUESTER, ACCEPTER] });
    world = await buildWorld(moto.url, fake.url);
    // Set per test: a test may change the answer.
    dns.set(EKS_HOSTNAME, { a: [...eksAddresses] });
  });
  afterEach(async () => {
    opened.splice(0).forEach((d) => d.close());
    world.close();
    await fake.close();
  });

  return {
    get moto() {
      return moto;
    },
    get fake() {
      return fake;
    },
    get dns() {
      return dns;
    },
    get world() {
      return world;
    },
    config: (extra = {}) => peeredConfig(world, { moto: moto.url, route53: fake.url }, dns.server, extra),
    track: (d) => (opened.push(d), d),
  };
}
