import { defineErrorFamily } from '../common/error-family.js';
import { EkslinkError, type EkslinkErrorOptions } from '../common/errors.js';

/** Stable codes of the provisioner's errors: code -> meaning and fix (rendered into docs/errors.md). */
export const ERROR_CATALOG = {
  EKL_PROVISION_STEP_FAILED:
    'A provisioning step failed. The message names the step, account, resource and the AWS error code; fix the cause and run `apply` again: it resumes where it stopped.',
  EKL_PROVISION_AWS_CALL_FAILED:
    'An AWS API call failed with a non-retryable error (the AWS code is kept). Usually missing permissions (compare with `ekslink provision iam-policy`) or a wrong ID in the config.',
  EKL_PROVISION_RETRIES_EXHAUSTED:
    'An AWS call kept failing with a throttling or eventual-consistency error until the retry bound. Wait a minute and run again; if it persists, check service quotas.',
  EKL_PROVISION_WAIT_TIMEOUT:
    'A resource did not reach the expected state in time (NLB active, endpoint available). Check it in the console; run `apply` again to keep waiting.',
  EKL_PROVISION_NLB_FAILED:
    'The load balancer went to state `failed` while apply waited for it (the message carries the reason AWS gave, e.g. subnet capacity or quota). Fix the cause, then run `apply` again: it deletes the failed NLB and creates a new one.',
  EKL_PROVISION_NLB_NO_SECURITY_GROUP:
    'The NLB found for this deployment has no security group (created by an older ekslink). AWS cannot add one later, and without it any host in the VPC can reach the proxies around the NLB: run `provision destroy`, then `apply`, then deploy the fleet with the new outputs file.',
  EKL_PROVISION_ACCOUNT_MISMATCH:
    'The credentials for an account resolve to a different AWS account ID than the config says. Fix the profile or role ARN, or the accountId.',
  EKL_PROVISION_CREDENTIALS:
    'Credentials for an account could not be loaded or the role could not be assumed. Check the profile name, role ARN, external ID and trust policy.',
  EKL_PROVISION_CONNECTION_NOT_FOUND:
    'The endpoint service shows no connection for the VPC endpoint this deployment created. Check that the consumer account is an allowed principal, then run `apply` again.',
  EKL_PROVISION_ACCEPT_FAILED:
    'AcceptVpcEndpointConnections reported the endpoint as unsuccessful (the AWS code is kept). The endpoint may have been deleted or rejected; run `apply` again to re-create it.',
  EKL_PROVISION_ENDPOINT_REJECTED:
    'The endpoint connection was rejected by the service owner. `apply` replaces a rejected endpoint; if it is rejected again, check who rejects it.',
  EKL_PROVISION_NOT_CONFIRMED:
    'apply or destroy needs confirmation: answer "yes" on a terminal, or pass --yes when not on a terminal (CI).',
  EKL_PROVISION_OUTPUTS_WRITE_FAILED:
    'apply succeeded but --outputs-file could not be written (missing directory, permissions). Fix the path and run apply again: it changes nothing and writes the file.',
  EKL_PROVISION_PARTIAL_LIST:
    'A paginated AWS list call kept handing out page tokens past the bound (the message names the list). Nothing was changed: a partial list could hide a resource of the deployment. Delete unused resources of that kind, or run again.',
  EKL_PROVISION_PREFLIGHT:
    'Preflight found problems in the config before anything was created: every problem is listed with its key, the value and the fix (a VPC, subnet, security group, route table or hosted zone that does not exist in that account and region, or does not fit the others). Fix each one and run plan again; exit code 2.',
  EKL_PROVISION_DESTROY_BLOCKED:
    'destroy could not delete a resource because something outside this deployment still uses it (the message names the blocker and the command that clears it). Clear it and run destroy again: it resumes.',
  EKL_PROVISION_UNKNOWN_TOPOLOGY:
    'The --topology value is not a known topology. Use one of the names listed in the message.',
} as const;

export type ProvisionErrorCode = keyof typeof ERROR_CATALOG;

/** A provisioner error; `awsCode` keeps the AWS error code when AWS was the cause. */
export class ProvisionError extends defineErrorFamily({
  name: 'ProvisionError',
  catalog: ERROR_CATALOG,
  source: 'aws',
}) {
  readonly awsCode: string | undefined;

  constructor(
    code: ProvisionErrorCode,
    message: string,
    options: EkslinkErrorOptions & { awsCode?: string } = {},
  ) {
    super(code, message, options);
    this.awsCode = options.awsCode;
  }
}

/** Where a step failure happened: what the operator needs to find the resource. */
export interface StepFailureSite {
  readonly step: string;
  readonly account: string;
  readonly accountId?: string;
  readonly resource?: string;
}

/** A step failed: says which step, account and resource, and keeps the AWS error code. */
export class StepFailedError extends ProvisionError {
  override name = 'StepFailedError';
  readonly site: StepFailureSite;

  constructor(site: StepFailureSite, cause: unknown) {
    const awsCode = awsErrorCode(cause) ?? (cause instanceof ProvisionError ? cause.awsCode : undefined);
    const resource = site.resource ?? (cause instanceof AwsCallError ? cause.resource : undefined);
    const account = site.accountId ? `${site.account} account ${site.accountId}` : `${site.account} account`;
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      'EKL_PROVISION_STEP_FAILED',
      `step ${site.step} (${account})${resource ? ` failed on ${resource}` : ' failed'}: ${awsCode ? `${awsCode}: ` : ''}${detail}`,
      { cause, awsCode, retryable: cause instanceof EkslinkError ? cause.retryable : false },
    );
    this.site = { ...site, resource };
  }
}

/** An AWS call failed; keeps the operation, the resource it was about and the AWS code. */
export class AwsCallError extends ProvisionError {
  override name = 'AwsCallError';
  readonly operation: string;
  readonly resource: string;

  constructor(
    code: 'EKL_PROVISION_AWS_CALL_FAILED' | 'EKL_PROVISION_RETRIES_EXHAUSTED',
    operation: string,
    resource: string,
    cause: unknown,
    attempts: number,
  ) {
    const awsCode = awsErrorCode(cause);
    const detail = cause instanceof Error ? cause.message : String(cause);
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    super(code, `${operation} on ${resource} failed${tries}: ${detail}`, {
      cause,
      awsCode,
      retryable: code === 'EKL_PROVISION_RETRIES_EXHAUSTED',
    });
    this.operation = operation;
    this.resource = resource;
  }
}

/** The AWS error code of an SDK v3 service exception (`err.name`, e.g. `Throttling`), if it is one. */
export function awsErrorCode(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { name?: unknown; $metadata?: unknown; Code?: unknown; code?: unknown };
  if (e.$metadata === undefined) return undefined;
  if (typeof e.Code === 'string') return e.Code;
  return typeof e.name === 'string' ? e.name : undefined;
}

/** HTTP status of an SDK v3 failure, if the service answered. */
export function awsHttpStatus(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const meta = (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}
