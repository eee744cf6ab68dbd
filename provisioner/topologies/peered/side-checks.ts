/** Both peering steps check their side: the configured CIDR lies in the VPC, and in TGW mode the attachment joins it. */
import type { TransitGatewayAttachment } from '@aws-sdk/client-ec2';
import { change, type Change } from '../../engine/step.js';
import { cidrWithin, type PeeredSide } from './config.js';
import type { PeeredContext } from './context.js';
import { PeeredError } from './errors.js';
import type { SideState } from './peering-read.js';

/** The configured CIDR must lie in the VPC: a typo here would route or allow the wrong range. */
export function checkSide(ctx: PeeredContext, side: PeeredSide, s: SideState): Change {
  const cfg = ctx.config[side];
  if (s.vpcCidrs === undefined) {
    throw new PeeredError(
      'EKL_PEERED_CIDR_NOT_IN_VPC',
      `${side}.vpcId ${cfg.vpcId} not found in account ${cfg.accountId} (${cfg.region})`,
    );
  }
  if (!s.vpcCidrs.some((block) => cidrWithin(cfg.cidr, block))) {
    throw new PeeredError(
      'EKL_PEERED_CIDR_NOT_IN_VPC',
      `${side}.cidr ${cfg.cidr} is not inside ${cfg.vpcId} (CIDR blocks: ${s.vpcCidrs.join(', ') || 'none'}); e.g. cidr: "${s.vpcCidrs[0] ?? '10.0.0.0/16'}"`,
    );
  }
  return change('none', `${side} VPC ${cfg.vpcId}`, `${cfg.cidr} is inside ${s.vpcCidrs.join(', ')}`);
}

/** Transit Gateway mode: the attachment must exist, be available and join this VPC to the configured TGW. */
export function checkAttachment(
  ctx: PeeredContext,
  side: PeeredSide,
  id: string | undefined,
  a: TransitGatewayAttachment | undefined,
): Change[] {
  const tgw = ctx.config.transitGateway!;
  if (id === undefined) return [];
  const vpcId = ctx.config[side].vpcId;
  const problem =
    a === undefined
      ? 'not found'
      : a.State !== 'available'
        ? `state is ${a.State}, not available`
        : a.TransitGatewayId !== tgw.transitGatewayId
          ? `attaches ${a.TransitGatewayId}, not ${tgw.transitGatewayId}`
          : a.ResourceType !== 'vpc' || a.ResourceId !== vpcId
            ? `attaches ${a.ResourceType} ${a.ResourceId}, not ${vpcId}`
            : undefined;
  if (problem !== undefined) {
    throw new PeeredError(
      'EKL_PEERED_TGW_ATTACHMENT',
      `${side} TGW attachment ${id}: ${problem}; ekslink only checks Transit Gateway attachments`,
    );
  }
  return [
    change(
      'none',
      `TGW attachment ${id}`,
      `available, joins ${vpcId} to ${tgw.transitGatewayId} (checked only)`,
    ),
  ];
}
