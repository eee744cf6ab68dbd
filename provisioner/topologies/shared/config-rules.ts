/** The config rules both topologies share: ID and name formats, the EKS hostname, cross-field checks. */
import * as z from 'zod';
import { eksHostnameProblem, parseEksHostname } from '../../../common/eks-hostname.js';
import { parseCidr } from '../../../common/cidr.js';
import { whenParsed } from '../../../common/config-file.js';

export const vpcIdSchema = z
  .string()
  .regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC ID, e.g. "vpc-0abc1234def567890"');

/** The deployment name; `example` ends the message (`"acme-prod"`, with what it names). */
export function deploymentNameSchema(example: string) {
  return z
    .string()
    .regex(
      /^[a-z][a-z0-9-]{1,26}[a-z0-9]$/,
      `must be 3-28 characters of a-z, 0-9 and "-", starting with a letter, e.g. ${example}`,
    );
}

/** Arguments for zod's `.refine`: the check and where its message goes. */
type Refinement<T> = [
  check: (c: T) => boolean,
  params: { message: string; path: PropertyKey[]; when?: (payload: z.core.ParsePayload) => boolean },
];

/** A private EKS API hostname, with the precise problem when it is not one. */
export const eksHostnameSchema = z.string().superRefine((h, ctx) => {
  const problem = eksHostnameProblem(h);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * The cluster named by eks.hostname is in `side`'s region: the EKS API is reached inside its
 * own region, where `runs` (`the NLB and proxies run`). For `.refine(...eksInRegionOf(...))`.
 */
export function eksInRegionOf<S extends string>(
  side: S,
  runs: string,
): Refinement<
  { readonly eks: { readonly hostname: string } } & { readonly [K in S]: { readonly region: string } }
> {
  return [
    (c) => {
      const region = parseEksHostname(c.eks.hostname)?.region;
      return region === undefined || region === c[side].region;
    },
    {
      message: `names a cluster in another region than ${side}.region: the EKS API is reached inside its own region, where ${runs}; fix eks.hostname or ${side}.region`,
      path: ['eks', 'hostname'],
    },
  ];
}

/** The two sides are different accounts. For `.refine(...accountsDiffer(...))`. */
export function accountsDiffer<A extends string, B extends string>(
  a: A,
  b: B,
): Refinement<{ readonly [K in A | B]: { readonly accountId: string } }> {
  return [
    (c) => c[a].accountId !== c[b].accountId,
    {
      message: `must differ from ${a}.accountId: this topology joins two accounts`,
      path: [b, 'accountId'],
      ...whenParsed([a, 'accountId'], [b, 'accountId']),
    },
  ];
}

/**
 * A topology's `timeouts` block: each field a number with its default, no other keys; left
 * out as a whole, every field takes its default.
 */
export function timeoutsSchema<S extends Record<string, z.ZodDefault<z.ZodNumber>>>(shape: S) {
  const defaults = Object.fromEntries(Object.entries(shape).map(([k, field]) => [k, field.parse(undefined)]));
  // zod cannot tie a mapped default object to a generic shape; it is built from the shape itself.
  return z
    .object(shape)
    .strict()
    .default(defaults as never);
}

/**
 * An IPv4 CIDR, /8 or narrower, host bits zero; the examples in its messages say what it
 * names. `stopAtFormat`: a value that is not a CIDR at all gets that one message only.
 */
export function ipv4CidrSchema(w: {
  readonly example: string;
  readonly narrowHint: string;
  readonly hostExample: string;
  readonly stopAtFormat: boolean;
}) {
  const stop = w.stopAtFormat ? { abort: true } : {};
  return z
    .string()
    .regex(/^(\d{1,3})(\.\d{1,3}){3}\/(\d|[12]\d|3[0-2])$/, {
      message: `must be an IPv4 CIDR, e.g. "${w.example}"`,
      ...stop,
    })
    .refine((c) => parseCidr(c) !== undefined, { message: 'has an octet above 255', ...stop })
    .refine(
      (c) => Number(c.split('/')[1]) >= 8,
      `must be /8 or narrower: ${w.narrowHint}, never a broad range`,
    )
    .refine(
      (c) => parseCidr(c)?.hostBitsClear === true,
      `must be a network address (host bits zero), e.g. ${w.hostExample}`,
    );
}
