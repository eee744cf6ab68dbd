import { isIPv4 } from 'node:net';
import * as z from 'zod';
import {
  accountsDiffer,
  deploymentNameSchema,
  eksHostnameSchema,
  eksInRegionOf,
  ipv4CidrSchema,
  timeoutsSchema,
  vpcIdSchema,
} from '../shared/config-rules.js';
import { blockContains, blocksOverlap, blockWithin, parseAddress, parseCidr } from '../../../common/cidr.js';
import { whenParsed } from '../../../common/config-file.js';
import { accountSchema } from '../../aws/account-config.js';

const vpcId = vpcIdSchema;
const routeTableIds = z
  .array(z.string().regex(/^rtb-[0-9a-f]{8,17}$/, 'must be a route table ID, e.g. "rtb-0abc1234def567890"'))
  .min(
    1,
    'list the route tables of the subnets that must reach the other side, e.g. ["rtb-0abc1234def567890"]',
  )
  .refine((ids) => new Set(ids).size === ids.length, 'must not repeat a route table ID');
const cidr = ipv4CidrSchema({
  example: '10.20.0.0/16',
  narrowHint: 'name the VPC CIDR, e.g. "10.20.0.0/16"',
  hostExample: '"10.20.0.0/16" not "10.20.1.5/16"',
  stopAtFormat: false,
});

/** The metadata-plane side (runs the kube client) and the data-plane side (runs EKS). */
const sideSchema = accountSchema
  .extend({
    vpcId,
    /** Exactly the CIDR routed to and allowed from this side; must lie within the VPC's CIDR blocks. */
    cidr,
    routeTableIds,
  })
  .strict();

export const peeredConfigSchema = z
  .object({
    deployment: deploymentNameSchema('"acme-peered"'),
    eks: z
      .object({
        hostname: eksHostnameSchema,
        clusterName: z
          .string()
          .regex(/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/, 'must be an EKS cluster name, e.g. "prod-eks"')
          .optional(),
        clusterSecurityGroupId: z
          .string()
          .regex(
            /^sg-[0-9a-f]{8,17}$/,
            'must be the EKS cluster security group ID (aws eks describe-cluster --query cluster.resourcesVpcConfig.clusterSecurityGroupId), e.g. "sg-0abc1234def567890"',
          ),
        certificateAuthorityData: z
          .string()
          .regex(
            /^[A-Za-z0-9+/=]+$/,
            'must be base64, as in `aws eks describe-cluster --query cluster.certificateAuthority.data`',
          )
          .optional(),
      })
      .strict(),
    /** Metadata plane: creates the peering request; its VPC gets routes to the data plane. */
    requester: sideSchema,
    /** Data plane (the EKS cluster's account and VPC): accepts the peering with its own credentials. */
    accepter: sideSchema,
    /** Instead of VPC peering: an existing Transit Gateway path, only checked (routes point at the TGW). */
    transitGateway: z
      .object({
        transitGatewayId: z
          .string()
          .regex(/^tgw-[0-9a-f]{8,17}$/, 'must be a Transit Gateway ID, e.g. "tgw-0abc1234def567890"'),
        requesterAttachmentId: z
          .string()
          .regex(
            /^tgw-attach-[0-9a-f]{8,17}$/,
            'must be a TGW attachment ID, e.g. "tgw-attach-0abc1234def567890"',
          ),
        accepterAttachmentId: z
          .string()
          .regex(
            /^tgw-attach-[0-9a-f]{8,17}$/,
            'must be a TGW attachment ID, e.g. "tgw-attach-0abc1234def567890"',
          )
          .optional()
          .describe(
            'Checked too when given (the data-plane VPC attachment, often in a TGW shared through RAM)',
          ),
      })
      .strict()
      .optional(),
    dns: z
      .object({
        /** A customer-owned private hosted zone in the accepter account to associate with the requester VPC. */
        privateHostedZoneId: z
          .string()
          .regex(
            /^[A-Z0-9]{1,32}$/,
            'must be a Route 53 hosted zone ID (without /hostedzone/), e.g. "Z0123456789ABCDEFGHIJ"',
          )
          .optional(),
        /** DNS servers ("IP" or "IP:PORT") the check asks; default: this host's resolver. */
        checkServers: z
          .array(
            z.string().regex(/^\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?$/, 'must be IPv4[:PORT], e.g. "10.1.0.2"'),
          )
          .min(1)
          .optional(),
      })
      .strict()
      .default({}),
    timeouts: timeoutsSchema({
      peeringActiveSec: z.number().int().min(1).default(300),
      dnsTimeoutMs: z.number().int().min(100).default(5000),
    }),
  })
  .strict()
  .refine(...eksInRegionOf('accepter', 'the data plane run'))
  .refine(...accountsDiffer('requester', 'accepter'))
  .refine((c) => !cidrsOverlap(c.requester.cidr, c.accepter.cidr), {
    message: 'overlaps requester.cidr: peered VPCs need disjoint CIDRs, e.g. 10.1.0.0/16 and 10.2.0.0/16',
    path: ['accepter', 'cidr'],
    ...whenParsed(['requester', 'cidr'], ['accepter', 'cidr']),
  });

export type PeeredConfig = z.output<typeof peeredConfigSchema>;
export type PeeredConfigInput = z.input<typeof peeredConfigSchema>;
export type PeeredSide = 'requester' | 'accepter';

/** Names derived from the deployment name. */
export function peeredNames(deployment: string) {
  return {
    peering: `ekslink-${deployment}`,
    sgRuleDescription: `ekslink ${deployment}: kube API from the metadata plane`,
  };
}

/** True when `a` and `b` share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x !== undefined && y !== undefined && blocksOverlap(x, y);
}

/** True when `inner` lies entirely within `outer`. */
export function cidrWithin(inner: string, outer: string): boolean {
  const x = parseCidr(inner);
  const y = parseCidr(outer);
  return x !== undefined && y !== undefined && blockWithin(x, y);
}

/** True when an IPv4 address lies in the CIDR. */
export function addressIn(address: string, c: string): boolean {
  const block = parseCidr(c);
  const value = isIPv4(address) ? parseAddress(address) : undefined;
  return block !== undefined && value !== undefined && blockContains(block, value);
}
