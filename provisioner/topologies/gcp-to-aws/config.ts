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
import { accountSchema } from '../../aws/account-config.js';
import { whenParsed } from '../../../common/config-file.js';
import {
  DEFAULT_CONNECTION_TERMINATION,
  DEFAULT_DRAIN,
  MAX_DEREGISTRATION_DELAY_SEC,
  deregistrationDelayForDrain,
} from '../../../common/drain-timing.js';

const vpcId = vpcIdSchema;
const subnetIds = z
  .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet ID, e.g. "subnet-0abc1234def567890"'))
  .min(1, 'list at least one private subnet ID, one per availability zone, e.g. ["subnet-0abc1234def567890"]')
  .refine((ids) => new Set(ids).size === ids.length, 'must not repeat a subnet ID');
const cidr = ipv4CidrSchema({
  example: '10.8.0.0/24',
  narrowHint: 'name the WireGuard peer\'s CIDR, e.g. "10.8.0.10/32"',
  hostExample: '"10.8.0.0/24" not "10.8.0.5/24"',
  stopAtFormat: true,
});
const principalArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+)$/,
    'must be an IAM principal ARN, e.g. "arn:aws:iam::210987654321:root" or "arn:aws:iam::210987654321:role/ekslink"',
  );

export const nlbSchema = z
  .object({
    proxyProtocolV2: z
      .boolean()
      .default(true)
      .describe(
        'Send PROXY protocol v2 (carries the VPC endpoint ID) to the proxies; the fleet then runs proxyProtocol.mode required',
      ),
    idleTimeoutSec: z
      .number()
      .int()
      .min(60, 'must be 60-6000 seconds (NLB TCP idle timeout), e.g. 3600')
      .max(6000, 'must be 60-6000 seconds (NLB TCP idle timeout), e.g. 3600')
      .default(3600),
    deregistrationDelaySec: z
      .number()
      .int()
      .min(0)
      .max(
        MAX_DEREGISTRATION_DELAY_SEC,
        `must be 0-${MAX_DEREGISTRATION_DELAY_SEC} seconds, e.g. ${deregistrationDelayForDrain(DEFAULT_DRAIN)}`,
      )
      .default(deregistrationDelayForDrain(DEFAULT_DRAIN))
      .describe(
        "At least the fleet's drainGraceSec + drainDeadlineSec + 30 (common/drain-timing.ts); the fleet's synth refuses a shorter one",
      ),
    connectionTermination: z
      .boolean()
      .default(DEFAULT_CONNECTION_TERMINATION)
      .describe(
        'Reset connections when the deregistration delay ends; off, so the proxy ends them (the fleet refuses on)',
      ),
    proxyHealthPort: z
      .number()
      .int()
      .min(1)
      .max(65535, 'must be a TCP port 1-65535, e.g. 8080')
      .default(8080),
    healthCheckPath: z.string().startsWith('/', 'must be an HTTP path, e.g. "/readyz"').default('/readyz'),
  })
  .strict();

export const gcpToAwsConfigSchema = z
  .object({
    deployment: deploymentNameSchema('"acme-prod" (it names the NLB: ekl-<deployment>)'),
    eks: z
      .object({
        hostname: eksHostnameSchema,
        clusterName: z
          .string()
          .min(1)
          .optional()
          .describe('Name used in the kubeconfig snippet; default: deployment'),
        certificateAuthorityData: z
          .string()
          .regex(/^[A-Za-z0-9+/=]+$/, 'must be base64, as in `aws eks describe-cluster`')
          .optional(),
      })
      .strict(),
    provider: accountSchema
      .extend({
        vpcId,
        subnetIds,
        nlb: nlbSchema.default(nlbSchema.parse({})),
        allowedPrincipals: z
          .array(principalArn)
          .min(1)
          .optional()
          .describe('Who may connect to the endpoint service; default: the consumer account root'),
      })
      .strict(),
    consumer: accountSchema
      .extend({
        vpcId,
        subnetIds,
        allowedCidrs: z
          .array(cidr)
          .min(1, 'list the CIDRs allowed to reach the endpoint, e.g. ["10.8.0.10/32"]'),
      })
      .strict(),
    timeouts: timeoutsSchema({
      nlbActiveSec: z.number().int().min(1).default(600),
      endpointAvailableSec: z.number().int().min(1).default(600),
    }),
  })
  .strict()
  .refine(...eksInRegionOf('provider', 'the NLB and proxies run'))
  .refine((c) => c.provider.region === c.consumer.region, {
    message: 'must equal provider.region: the VPC endpoint and the endpoint service are in one region',
    path: ['consumer', 'region'],
    ...whenParsed(['provider', 'region'], ['consumer', 'region']),
  })
  .refine(...accountsDiffer('provider', 'consumer'));

export type GcpToAwsConfig = z.output<typeof gcpToAwsConfigSchema>;
export type GcpToAwsConfigInput = z.input<typeof gcpToAwsConfigSchema>;

/** Names derived from the deployment name (NLB and target group names allow 32 characters). */
export function resourceNames(deployment: string) {
  return {
    loadBalancer: `ekl-${deployment}`,
    targetGroup: `ekl-${deployment}`,
    securityGroup: `ekslink-${deployment}-vpce`,
    nlbSecurityGroup: `ekslink-${deployment}-nlb`,
    endpointService: `ekslink-${deployment}`,
    endpoint: `ekslink-${deployment}`,
  };
}
