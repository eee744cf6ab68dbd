import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../common/config-file.js';
import { ConfigError } from '../../common/errors.js';
import {
  addressIn,
  cidrWithin,
  peeredConfigSchema,
  type PeeredConfigInput,
} from '../../provisioner/topologies/peered/config.js';
import { peered } from '../../provisioner/topologies/peered/index.js';
import { getTopology } from '../../provisioner/topologies/index.js';

const side = (accountId: string, region: string, cidr: string) => ({
  accountId,
  region,
  vpcId: accountId === '111111111111' ? 'vpc-0aaaaaaaaaaaaaaa1' : 'vpc-0bbbbbbbbbbbbbbb2',
  cidr,
  routeTableIds: ['rtb-0ccccccccccccccc3'],
});

function valid(): PeeredConfigInput {
  return {
    deployment: 'acme-peered',
    eks: {
      hostname: '0A1B2C3D4E5F60718293A4B5C6D7E8F9.gr7.eu-west-1.eks.amazonaws.com',
      clusterSecurityGroupId: 'sg-0ddddddddddddddd4',
    },
    requester: side('111111111111', 'us-east-1', '10.1.0.0/16'),
    accepter: side('222222222222', 'eu-west-1', '10.2.0.0/16'),
  };
}

function problems(input: unknown): readonly string[] {
  try {
    validateConfig(peeredConfigSchema, input, 'peered.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('peered config', () => {
  it('accepts a minimal config and fills the defaults', () => {
    const cfg = peeredConfigSchema.parse(valid());
    expect(cfg.timeouts).toEqual({ peeringActiveSec: 300, dnsTimeoutMs: 5000 });
    expect(cfg.dns).toEqual({});
  });

  it('refuses overlapping CIDRs, one account on both sides, and a broad or non-network CIDR, naming each key', () => {
    const input = valid();
    expect(problems({ ...input, accepter: { ...input.accepter, cidr: '10.1.128.0/17' } })).toEqual([
      expect.stringMatching(/^accepter\.cidr: overlaps requester\.cidr/),
    ]);
    expect(problems({ ...input, accepter: { ...input.accepter, accountId: '111111111111' } })).toEqual([
      expect.stringMatching(/^accepter\.accountId: must differ from requester\.accountId/),
    ]);
    expect(problems({ ...input, requester: { ...input.requester, cidr: '0.0.0.0/0' } })[0]).toMatch(
      /^requester\.cidr: must be \/8 or narrower.*\(got "0\.0\.0\.0\/0"\)$/,
    );
    expect(problems({ ...input, requester: { ...input.requester, cidr: '10.1.2.3/16' } })[0]).toMatch(
      /must be a network address/,
    );
  });

  it('CIDR arithmetic: within and address membership', () => {
    expect(cidrWithin('10.1.0.0/17', '10.1.0.0/16')).toBe(true);
    expect(cidrWithin('10.1.0.0/15', '10.1.0.0/16')).toBe(false);
    expect(addressIn('10.2.255.255', '10.2.0.0/16')).toBe(true);
    expect(addressIn('10.3.0.0', '10.2.0.0/16')).toBe(false);
    expect(addressIn('fd00::1', '10.2.0.0/16')).toBe(false);
  });

  it('is in the topology registry, with its steps in order and an IAM policy per account', () => {
    expect(getTopology('peered')).toBe(peered);
    expect(peered.describeSteps().map((s) => `${s.account}:${s.id}`)).toEqual([
      'requester:peering-request',
      'accepter:peering-accept',
      'requester:routes-requester',
      'accepter:routes-accepter',
      'accepter:eks-security-group',
      'requester:dns-check',
      'accepter:dns-authorize',
      'requester:dns-associate',
      'accepter:dns-authorization-cleanup',
    ]);
    const requester = peered.iamPolicy('requester');
    const accepter = peered.iamPolicy('accepter');
    const actions = (p: typeof requester) => new Set(p.Statement.flatMap((s) => s.Action));
    expect(actions(requester).has('ec2:CreateVpcPeeringConnection')).toBe(true);
    expect(actions(requester).has('ec2:AcceptVpcPeeringConnection')).toBe(false);
    expect(actions(accepter).has('ec2:AcceptVpcPeeringConnection')).toBe(true);
    expect(actions(accepter).has('route53:CreateVPCAssociationAuthorization')).toBe(true);
    expect(actions(requester).has('route53:AssociateVPCWithHostedZone')).toBe(true);
    // Deleting the peering is allowed only on resources carrying the managed-by tag.
    const del = requester.Statement.find((s) => s.Action.includes('ec2:DeleteVpcPeeringConnection'))!;
    expect(del.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/chalk.ai/managed-by': 'chalk' } });
  });
});
