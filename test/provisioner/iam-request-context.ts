/**
 * What the per-service request mappings share: the request as the IAM front received it,
 * the facts it may read about existing resources, and the request-context helpers (tags,
 * global keys). Spec: fake-iam.md (section "Requests to authorizations").
 */
import type { AuthorizationRequest, ContextValue } from './iam-evaluate.js';

/** One request as the front received it. */
export interface ApiCall {
  /** SigV4 credential-scope service: `ec2`, `elasticloadbalancing`, `sts`, `route53`. */
  readonly service: string;
  /** API operation: `CreateVpcEndpoint`. */
  readonly operation: string;
  readonly region: string;
  /** The caller's account. */
  readonly account: string;
  readonly partition: string;
  /** Query-protocol parameters (EC2, ELBv2, STS); for Route 53 the path parts, see route53Call. */
  readonly params: URLSearchParams;
}

/** What the emulator holds about existing resources (read from moto by the front). */
export interface ResourceFacts {
  /** Tags of an EC2 resource by ID; undefined when no such resource. */
  ec2Tags(account: string, region: string, id: string): Promise<Record<string, string> | undefined>;
  /** VPC of a security group or route table. */
  vpcOf(account: string, region: string, id: string): Promise<string | undefined>;
  /** A peering connection as the caller's account sees it. */
  peering(account: string, region: string, id: string): Promise<PeeringFacts | undefined>;
  /** Tags of an ELBv2 resource by ARN; undefined when no such resource. */
  elbTags(account: string, region: string, arn: string): Promise<Record<string, string> | undefined>;
  /** The account that owns an endpoint service, by its service name; undefined when none of the known accounts does. */
  endpointServiceOwner(region: string, serviceName: string): Promise<string | undefined>;
  /** `network`, `application` or `gateway`: the type of a load balancer, by its ARN. */
  loadBalancerType(account: string, region: string, arn: string): Promise<string | undefined>;
}

export interface PeeringFacts {
  readonly requester: { readonly account: string; readonly region: string; readonly vpcId: string };
  readonly accepter: { readonly account: string; readonly region: string; readonly vpcId: string };
  readonly tags: Record<string, string>;
}

/** A request type the front has no SAR mapping for: refused, never allowed. */
export class UnmappedActionError extends Error {
  override readonly name = 'UnmappedActionError';
  constructor(readonly call: Pick<ApiCall, 'service' | 'operation'>) {
    super(
      `${call.service}:${call.operation} has no authorization mapping in test/provisioner/iam-requests*.ts; add one from its row in the Service Authorization Reference before calling it`,
    );
  }
}

/** A resource the request names does not exist: AWS answers NotFound, nothing to authorize. */
export class MissingResourceError extends Error {
  override readonly name = 'MissingResourceError';
}

/** Stands for the ID of a resource the request creates (unknown until it exists): only a wildcard matches it. */
export const NEW_ID = 'new';

export type Context = Record<string, ContextValue>;
export type Mapper = (call: ApiCall, facts: ResourceFacts) => Promise<AuthorizationRequest[]>;

export function listParam(params: URLSearchParams, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; params.has(`${prefix}.${i}`); i++) out.push(params.get(`${prefix}.${i}`)!);
  return out;
}

export function required(params: URLSearchParams, name: string, call: ApiCall): string {
  const v = params.get(name);
  if (v === null) throw new Error(`${call.operation}: request has no ${name} parameter`);
  return v;
}

/** `aws:RequestTag/<key>` per tag and `aws:TagKeys`, as AWS puts them in a tagged create. */
export function requestTagContext(tags: Record<string, string>): Context {
  const keys = Object.keys(tags);
  if (keys.length === 0) return {};
  return {
    ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
    'aws:TagKeys': keys,
  };
}

/** `aws:ResourceTag/<key>` and the service's own `<prefix>:ResourceTag/<key>`. */
export function resourceTagContext(prefix: string, tags: Record<string, string>): Context {
  return Object.fromEntries(
    Object.entries(tags).flatMap(([k, v]) => [
      [`aws:ResourceTag/${k}`, v],
      [`${prefix}:ResourceTag/${k}`, v],
    ]),
  );
}

function globalContext(call: ApiCall): Context {
  return { 'aws:RequestedRegion': call.region, 'aws:PrincipalAccount': call.account };
}

export function request(
  call: ApiCall,
  action: string,
  resource: string,
  context: Context = {},
): AuthorizationRequest {
  return { action, resource, context: { ...globalContext(call), ...context } };
}
