import { DescribeNetworkInterfacesCommand, type VpcEndpoint } from '@aws-sdk/client-ec2';
import type { IamPermission } from '../../iam/policy.js';
import type { GcpToAwsContext } from './context.js';

/**
 * The private IPv4 addresses of the interface endpoint's network interfaces (one per subnet):
 * the WireGuard peer forwards to exactly these, so they go into the outputs.
 */
export async function endpointAddresses(ctx: GcpToAwsContext, ep: VpcEndpoint): Promise<string[]> {
  const ids = ep.NetworkInterfaceIds ?? [];
  // An empty ID list would make DescribeNetworkInterfaces describe every ENI of the account.
  if (ids.length === 0) return [];
  const conn = ctx.consumer;
  const out = await conn.call(
    'DescribeNetworkInterfaces',
    `network interfaces of VPC endpoint ${ep.VpcEndpointId}`,
    () => conn.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ids })),
    // The endpoint can list an ENI a moment before Describe shows it.
    { alsoRetry: ['InvalidNetworkInterfaceID.NotFound'] },
  );
  return (out.NetworkInterfaces ?? [])
    .sort((a, b) => (a.SubnetId ?? '').localeCompare(b.SubnetId ?? ''))
    .map((eni) => eni.PrivateIpAddress)
    .filter((ip): ip is string => ip !== undefined && ip !== '');
}

/** Publish the addresses of `ep` (none when it has no network interfaces yet). */
export async function publishEndpointAddresses(
  ctx: GcpToAwsContext,
  ep: VpcEndpoint | undefined,
): Promise<void> {
  ctx.facts.endpointAddresses = ep === undefined ? [] : await endpointAddresses(ctx, ep);
}

export const ENDPOINT_ADDRESS_PERMISSIONS: readonly IamPermission[] = [
  {
    why: "read the private IPv4 addresses of the VPC endpoint's network interfaces (outputs)",
    actions: ['ec2:DescribeNetworkInterfaces'],
    resources: ['*'],
    tagCondition: 'none',
  },
];
