import { CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  AssociateVPCWithHostedZoneCommand,
  CreateHostedZoneCommand,
  CreateVPCAssociationAuthorizationCommand,
  DeleteVPCAssociationAuthorizationCommand,
  DisassociateVPCFromHostedZoneCommand,
  GetHostedZoneCommand,
  ListHostedZonesByVPCCommand,
  ListVPCAssociationAuthorizationsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMoto, type MotoServer } from './moto.js';
import { motoCredentials, type StaticCredentials } from './peered-moto-accounts.js';
import { Route53Fake } from './peered-route53-fake.js';

const OWNER = '222222222222';
const OTHER = '111111111111';
const THIRD = '333333333333';

let moto: MotoServer;
let fake: Route53Fake;
const creds: Record<string, StaticCredentials> = {};

beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await fake?.close();
  await moto?.stop();
});
beforeEach(async () => {
  await fake?.close();
  await moto.reset();
  // A reset forgets the assumed-role keys too: assume again after it.
  for (const a of [OWNER, OTHER, THIRD]) creds[a] = await motoCredentials(moto.url, a);
  fake = await Route53Fake.start({ motoUrl: moto.url, accounts: [OWNER, OTHER, THIRD] });
});

function r53(account: string): Route53Client {
  return new Route53Client({
    endpoint: fake.url,
    region: 'us-east-1',
    credentials: creds[account]!,
    maxAttempts: 1,
  });
}

async function vpc(account: string, region: string, cidr: string): Promise<string> {
  const ec2 = new EC2Client({ endpoint: moto.url, region, credentials: creds[account]!, maxAttempts: 1 });
  const out = await ec2.send(new CreateVpcCommand({ CidrBlock: cidr }));
  ec2.destroy();
  return out.Vpc!.VpcId!;
}

/** A private zone in OWNER (home VPC in eu-west-1) and a VPC in OTHER (us-east-1). */
async function world() {
  const home = await vpc(OWNER, 'eu-west-1', '10.2.0.0/16');
  const remote = await vpc(OTHER, 'us-east-1', '10.1.0.0/16');
  const zone = await r53(OWNER).send(
    new CreateHostedZoneCommand({
      Name: 'cluster.internal.example.',
      CallerReference: `ref-${Date.now()}`,
      HostedZoneConfig: { PrivateZone: true },
      VPC: { VPCId: home, VPCRegion: 'eu-west-1' },
    }),
  );
  const zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');
  return { home, remote, zoneId, remoteVpc: { VPCId: remote, VPCRegion: 'us-east-1' as const } };
}

async function awsCode(p: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

describe('Route 53 fake: cross-account VPC association', () => {
  it('refuses an association from another account without an authorization (NotAuthorizedException, 401)', async () => {
    const w = await world();
    const err = await awsCode(
      r53(OTHER).send(new AssociateVPCWithHostedZoneCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc })),
    );
    expect(err).toEqual({ name: 'NotAuthorizedException', status: 401 });
    const zone = await r53(OWNER).send(new GetHostedZoneCommand({ Id: w.zoneId }));
    expect(zone.VPCs?.map((v) => v.VPCId)).toEqual([w.home]);
  });

  it('authorize (owner) -> associate (VPC owner) -> delete authorization: the association stays', async () => {
    const w = await world();
    await r53(OWNER).send(
      new CreateVPCAssociationAuthorizationCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
    );
    const listed = await r53(OWNER).send(
      new ListVPCAssociationAuthorizationsCommand({ HostedZoneId: w.zoneId }),
    );
    expect(listed.VPCs).toEqual([w.remoteVpc]);
    const assoc = await r53(OTHER).send(
      new AssociateVPCWithHostedZoneCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
    );
    expect(assoc.ChangeInfo?.Status).toBeDefined();
    await r53(OWNER).send(
      new DeleteVPCAssociationAuthorizationCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
    );
    expect(fake.authorizations(w.zoneId)).toEqual([]);
    const zone = await r53(OWNER).send(new GetHostedZoneCommand({ Id: w.zoneId }));
    expect(zone.VPCs?.map((v) => v.VPCId).sort()).toEqual([w.home, w.remote].sort());
    const byVpc = await r53(OTHER).send(
      new ListHostedZonesByVPCCommand({ VPCId: w.remote, VPCRegion: 'us-east-1' }),
    );
    expect(byVpc.HostedZoneSummaries).toEqual([
      { HostedZoneId: w.zoneId, Name: 'cluster.internal.example.', Owner: { OwningAccount: OWNER } },
    ]);
  });

  it('lets only the zone owner authorize, list and delete authorizations (NoSuchHostedZone otherwise)', async () => {
    const w = await world();
    expect(
      await awsCode(
        r53(OTHER).send(
          new CreateVPCAssociationAuthorizationCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
        ),
      ),
    ).toEqual({
      name: 'NoSuchHostedZone',
      status: 404,
    });
    expect(
      await awsCode(r53(OTHER).send(new ListVPCAssociationAuthorizationsCommand({ HostedZoneId: w.zoneId }))),
    ).toMatchObject({
      name: 'NoSuchHostedZone',
    });
  });

  it('authorizing twice is fine; deleting an authorization that is not there is VPCAssociationAuthorizationNotFound', async () => {
    const w = await world();
    await r53(OWNER).send(
      new CreateVPCAssociationAuthorizationCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
    );
    await r53(OWNER).send(
      new CreateVPCAssociationAuthorizationCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
    );
    expect(fake.authorizations(w.zoneId)).toEqual([`us-east-1/${w.remote}`]);
    await r53(OWNER).send(
      new DeleteVPCAssociationAuthorizationCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
    );
    expect(
      await awsCode(
        r53(OWNER).send(
          new DeleteVPCAssociationAuthorizationCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
        ),
      ),
    ).toEqual({
      name: 'VPCAssociationAuthorizationNotFound',
      status: 404,
    });
  });

  it('refuses a second association of the same VPC (ConflictingDomainExists)', async () => {
    const w = await world();
    await r53(OWNER).send(
      new CreateVPCAssociationAuthorizationCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
    );
    await r53(OTHER).send(
      new AssociateVPCWithHostedZoneCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
    );
    expect(
      await awsCode(
        r53(OTHER).send(new AssociateVPCWithHostedZoneCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc })),
      ),
    ).toMatchObject({
      name: 'ConflictingDomainExists',
    });
  });

  it('refuses an association by an account that does not own the VPC, even with an authorization (InvalidVPCId)', async () => {
    const w = await world();
    await r53(OWNER).send(
      new CreateVPCAssociationAuthorizationCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
    );
    expect(
      await awsCode(
        r53(THIRD).send(new AssociateVPCWithHostedZoneCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc })),
      ),
    ).toMatchObject({
      name: 'InvalidVPCId',
    });
  });

  it('lets the VPC owner disassociate; then VPCAssociationNotFound; the last VPC cannot go (LastVPCAssociation)', async () => {
    const w = await world();
    await r53(OWNER).send(
      new CreateVPCAssociationAuthorizationCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
    );
    await r53(OTHER).send(
      new AssociateVPCWithHostedZoneCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
    );
    await r53(OTHER).send(
      new DisassociateVPCFromHostedZoneCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
    );
    const zone = await r53(OWNER).send(new GetHostedZoneCommand({ Id: w.zoneId }));
    expect(zone.VPCs?.map((v) => v.VPCId)).toEqual([w.home]);
    expect(
      await awsCode(
        r53(OTHER).send(
          new DisassociateVPCFromHostedZoneCommand({ HostedZoneId: w.zoneId, VPC: w.remoteVpc }),
        ),
      ),
    ).toMatchObject({
      name: 'VPCAssociationNotFound',
      status: 404,
    });
    expect(
      await awsCode(
        r53(OWNER).send(
          new DisassociateVPCFromHostedZoneCommand({
            HostedZoneId: w.zoneId,
            VPC: { VPCId: w.home, VPCRegion: 'eu-west-1' },
          }),
        ),
      ),
    ).toMatchObject({ name: 'LastVPCAssociation' });
  });
});
