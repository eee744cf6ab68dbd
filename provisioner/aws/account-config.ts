import * as z from 'zod';

/** `arn:aws:iam::123456789012:role/name` (any partition, paths allowed). */
export const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

const endpointUrl = z
  .url({
    message: 'must be a URL, e.g. "http://127.0.0.1:5000" (only for emulators and VPC interface endpoints)',
  })
  .optional();

export const credentialsSchema = z
  .object({
    profile: z
      .string()
      .min(1, 'must name a profile in ~/.aws/config or ~/.aws/credentials, e.g. "customer-acme"')
      .optional()
      .describe('Named profile; with roleArn it is the source credentials for the AssumeRole call'),
    roleArn: z
      .string()
      .regex(ROLE_ARN, 'must be an IAM role ARN, e.g. "arn:aws:iam::123456789012:role/ekslink-provisioner"')
      .optional()
      .describe('Role to assume with STS AssumeRole'),
    externalId: z
      .string()
      .regex(
        /^[\w+=,.@:/-]{2,1224}$/,
        'must be 2-1224 characters of [A-Za-z0-9+=,.@:/-], as the role trust policy expects',
      )
      .optional()
      .describe('External ID the role trust policy requires (sts:ExternalId)'),
    sessionName: z
      .string()
      .regex(/^[\w+=,.@-]{2,64}$/, 'must be 2-64 characters of [A-Za-z0-9+=,.@-], e.g. "ekslink-acme"')
      .optional(),
  })
  .strict()
  .refine((c) => c.profile !== undefined || c.roleArn !== undefined, {
    message:
      'set "profile", "roleArn", or both (roleArn assumed with the profile\'s credentials); omit "credentials" to use the default chain',
  })
  .refine((c) => c.externalId === undefined || c.roleArn !== undefined, {
    message: '"externalId" only applies with "roleArn"; add the roleArn the external ID belongs to',
    path: ['externalId'],
  });

export const accountSchema = z
  .object({
    accountId: z
      .string()
      .regex(/^\d{12}$/, 'must be the 12-digit AWS account ID as a quoted string, e.g. "123456789012"'),
    region: z
      .string()
      .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/, 'must be an AWS region code, e.g. "us-east-1"'),
    credentials: credentialsSchema.optional(),
    endpoints: z
      .object({ ec2: endpointUrl, elbv2: endpointUrl, sts: endpointUrl, route53: endpointUrl })
      .strict()
      .optional()
      .describe('Per-service endpoint URL overrides'),
  })
  .strict();

export type AccountConfig = z.output<typeof accountSchema>;
export type CredentialsConfig = z.output<typeof credentialsSchema>;
