/**
 * What `ekslink kubeconfig` needs, validated at the edge: which topology, the server to dial,
 * the EKS hostname the certificate is checked against, the cluster CA and the credentials.
 */
import { isIP } from 'node:net';
import * as z from 'zod';
import { whenParsed } from '../../common/config-file.js';
import { eksHostnameProblem } from '../../common/eks-hostname.js';
import { ROLE_ARN } from '../aws/account-config.js';

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const EKS_EXAMPLE = 'ABCDEF0123456789ABCDEF0123456789.gr7.us-east-1.eks.amazonaws.com';
const VPCE_EXAMPLE =
  'vpce-0123456789abcdef0-abcd1234.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com';

export const TOPOLOGIES = ['gcp-to-aws', 'peered'] as const;
export type Topology = (typeof TOPOLOGIES)[number];

const hostname = (what: string, example: string) =>
  z
    .string({ message: `--${what} is required: a DNS hostname, e.g. ${example}` })
    .transform((s) => s.toLowerCase().replace(/\.$/, ''))
    .refine((s) => HOSTNAME.test(s) && isIP(s) === 0, {
      message: `--${what} must be a DNS hostname, e.g. ${example}`,
    });

/** `host`, `host:port`, `a.b.c.d:port` or `[v6]:port`; https is implied. */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

export function parseServer(value: string): ServerAddress | undefined {
  const text = value.replace(/^https:\/\//, '').replace(/\/$/, '');
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]/]+))(?::(\d{1,5}))?$/.exec(text);
  if (m === null) return undefined;
  const host = (m[1] ?? m[2]!).toLowerCase().replace(/\.$/, '');
  const port = m[3] === undefined ? 443 : Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  if (m[1] !== undefined ? isIP(host) !== 6 : isIP(host) !== 4 && !HOSTNAME.test(host)) return undefined;
  return { host, port };
}

/** The region in an EKS API hostname (`<id>.<gr7>.<region>.eks.amazonaws.com`), if it has one. */
export function eksHostnameRegion(hostname: string): string | undefined {
  return /\.([a-z]{2}(?:-[a-z]+)+-\d{1,2})\.eks\.amazonaws\.com(?:\.cn)?$/.exec(hostname)?.[1];
}

/** The URL kubectl dials. */
export function serverUrl(server: ServerAddress): string {
  const host = isIP(server.host) === 6 ? `[${server.host}]` : server.host;
  return server.port === 443 ? `https://${host}` : `https://${host}:${server.port}`;
}

export const kubeconfigInputSchema = z
  .object({
    topology: z.enum(TOPOLOGIES, {
      message:
        '--topology must be "gcp-to-aws" (through the VPC endpoint) or "peered" (VPC peering), e.g. --topology gcp-to-aws',
    }),
    /** gcp-to-aws: the VPC endpoint DNS name. peered: @default the EKS hostname. */
    server: z
      .string()
      .transform((s, ctx) => {
        const parsed = parseServer(s);
        if (parsed === undefined) {
          ctx.addIssue({
            code: 'custom',
            message: `--server must be host or host:port (https is implied), e.g. --server ${VPCE_EXAMPLE}`,
          });
          return z.NEVER;
        }
        return parsed;
      })
      .optional(),
    /** The EKS private API hostname: the certificate's name, sent as SNI. */
    eksHostname: hostname('eks-hostname', EKS_EXAMPLE).superRefine((h, ctx) => {
      const problem = eksHostnameProblem(h);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `--eks-hostname ${problem}` });
    }),
    caFile: z.string().min(1).optional(),
    /** base64 of the PEM, as `aws eks describe-cluster` returns certificateAuthority.data. */
    caData: z.string().min(1).optional(),
    clusterName: z.string().regex(/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/, {
      message:
        '--cluster-name must be an EKS cluster name (letters, digits, "-", "_"; up to 100), e.g. prod-eks',
    }),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, {
        message: '--region must be an AWS region code, e.g. us-east-1',
      })
      .optional(),
    roleArn: z
      .string()
      .regex(ROLE_ARN, {
        message:
          '--role-arn must be an IAM role ARN, e.g. arn:aws:iam::123456789012:role/ekslink-metadata-plane',
      })
      .optional(),
    /** Named AWS CLI profile the exec plugin runs with. */
    awsProfile: z
      .string()
      .regex(/^[\w+=,.@-]{1,128}$/, { message: '--aws-profile must be a profile name, e.g. metadata-plane' })
      .optional(),
    /** Static bearer token instead of the exec plugin (tests, break-glass). */
    tokenFile: z.string().min(1).optional(),
    /** Name of the cluster, user and context entries. @default ekslink-<clusterName> */
    contextName: z
      .string()
      .regex(/^[\w.@:-]{1,128}$/, {
        message: '--context-name must be 1-128 of [A-Za-z0-9_.@:-], e.g. prod-eks',
      })
      .optional(),
    /** Write here (mode 0600) instead of stdout. */
    out: z.string().min(1).optional(),
  })
  .strict()
  .superRefine(
    (v, ctx) => {
      if ((v.caFile === undefined) === (v.caData === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['caFile'],
          message:
            'give exactly one of --ca-file (PEM) or --ca-data (base64, e.g. from `aws eks describe-cluster --query cluster.certificateAuthority.data --output text`)',
        });
      }
      if (v.topology === 'gcp-to-aws') {
        if (v.server === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['server'],
            message: `--server is required for gcp-to-aws: the VPC endpoint DNS name, e.g. --server ${VPCE_EXAMPLE}`,
          });
        } else if (typeof v.server === 'object' && v.server.host === v.eksHostname) {
          ctx.addIssue({
            code: 'custom',
            path: ['server'],
            message: `for gcp-to-aws, --server must be the VPC endpoint DNS name, not the EKS hostname (which resolves to addresses only reachable inside the cluster VPC), e.g. --server ${VPCE_EXAMPLE}`,
          });
        }
      }
      if (v.tokenFile === undefined && v.region === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['region'],
          message: '--region is required for the aws eks get-token exec plugin, e.g. --region us-east-1',
        });
      }
      const hostRegion = typeof v.eksHostname === 'string' ? eksHostnameRegion(v.eksHostname) : undefined;
      if (v.region !== undefined && hostRegion !== undefined && v.region !== hostRegion) {
        ctx.addIssue({
          code: 'custom',
          path: ['region'],
          message: `contradicts --eks-hostname, which is in ${hostRegion}: aws eks get-token must sign for the cluster's region, e.g. --region ${hostRegion}`,
        });
      }
      if (v.tokenFile !== undefined && (v.roleArn !== undefined || v.awsProfile !== undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['tokenFile'],
          message:
            '--token-file replaces the exec plugin: drop --role-arn/--aws-profile, or drop --token-file',
        });
      }
      if (v.tokenFile !== undefined && v.out === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['out'],
          message:
            'with --token-file the kubeconfig holds a secret: write it to a file, e.g. --out ./kubeconfig',
        });
      }
      // Runs even when --eks-hostname is missing or wrong, so every problem is in one report.
    },
    whenParsed(
      ['topology'],
      ['server'],
      ['caFile'],
      ['caData'],
      ['region'],
      ['tokenFile'],
      ['roleArn'],
      ['awsProfile'],
      ['out'],
    ),
  );

export type KubeconfigInput = z.output<typeof kubeconfigInputSchema>;
