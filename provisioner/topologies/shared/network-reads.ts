/**
 * Reads of the customer's own network resources by ID, for preflight: with a filter on the
 * ID instead of the ID list, so an ID that does not exist comes back as absent (AWS answers
 * `Invalid*.NotFound` for the whole call otherwise) and every missing one can be reported.
 */
import {
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type RouteTable,
  type SecurityGroup,
  type Subnet,
  type Vpc,
} from '@aws-sdk/client-ec2';
import type { AccountConnection } from '../../aws/account.js';
import type { IamPermission } from '../../iam/policy.js';
import { collectPages } from './pages.js';

function byId<T>(items: readonly T[], id: (t: T) => string | undefined): Map<string, T> {
  return new Map(items.flatMap((t) => (id(t) === undefined ? [] : [[id(t)!, t] as const])));
}

export async function vpcsById(conn: AccountConnection, ids: readonly string[]): Promise<Map<string, Vpc>> {
  if (ids.length === 0) return new Map();
  const items = await collectPages(`VPCs ${ids.join(', ')}`, async (NextToken) => {
    const out = await conn.call('DescribeVpcs', `VPCs ${ids.join(', ')}`, () =>
      conn.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'vpc-id', Values: [...ids] }], NextToken })),
    );
    return { items: out.Vpcs ?? [], next: out.NextToken };
  });
  return byId(items, (v) => v.VpcId);
}

export async function subnetsById(
  conn: AccountConnection,
  ids: readonly string[],
): Promise<Map<string, Subnet>> {
  if (ids.length === 0) return new Map();
  const items = await collectPages(`subnets ${ids.join(', ')}`, async (NextToken) => {
    const out = await conn.call('DescribeSubnets', `subnets ${ids.join(', ')}`, () =>
      conn.ec2.send(
        new DescribeSubnetsCommand({ Filters: [{ Name: 'subnet-id', Values: [...ids] }], NextToken }),
      ),
    );
    return { items: out.Subnets ?? [], next: out.NextToken };
  });
  return byId(items, (s) => s.SubnetId);
}

export async function securityGroupsById(
  conn: AccountConnection,
  ids: readonly string[],
): Promise<Map<string, SecurityGroup>> {
  if (ids.length === 0) return new Map();
  const items = await collectPages(`security groups ${ids.join(', ')}`, async (NextToken) => {
    const out = await conn.call('DescribeSecurityGroups', `security groups ${ids.join(', ')}`, () =>
      conn.ec2.send(
        new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-id', Values: [...ids] }], NextToken }),
      ),
    );
    return { items: out.SecurityGroups ?? [], next: out.NextToken };
  });
  return byId(items, (g) => g.GroupId);
}

export async function routeTablesById(
  conn: AccountConnection,
  ids: readonly string[],
): Promise<Map<string, RouteTable>> {
  if (ids.length === 0) return new Map();
  const items = await collectPages(`route tables ${ids.join(', ')}`, async (NextToken) => {
    const out = await conn.call('DescribeRouteTables', `route tables ${ids.join(', ')}`, () =>
      conn.ec2.send(
        new DescribeRouteTablesCommand({
          Filters: [{ Name: 'route-table-id', Values: [...ids] }],
          NextToken,
        }),
      ),
    );
    return { items: out.RouteTables ?? [], next: out.NextToken };
  });
  return byId(items, (t) => t.RouteTableId);
}

/** CIDR blocks of a VPC that are in use (associated), primary first. */
export function vpcCidrBlocks(vpc: Vpc): string[] {
  const blocks = (vpc.CidrBlockAssociationSet ?? [])
    .filter((b) => b.CidrBlockState?.State === undefined || b.CidrBlockState.State === 'associated')
    .map((b) => b.CidrBlock!)
    .filter(Boolean);
  return blocks.length > 0 ? blocks : vpc.CidrBlock ? [vpc.CidrBlock] : [];
}

/** Preflight reads: Describe* has no resource-level permissions in EC2. */
export function networkReadPermission(account: string, actions: readonly string[]): IamPermission {
  return {
    why: 'preflight: check that the configured network resources exist and fit together',
    actions: actions.map((a) => `ec2:${a}`),
    resources: ['*'],
    tagCondition: 'none',
    account,
  };
}
