/**
 * Every message the provisioner emits, with a stable code. Renderers (the CLI's human and
 * JSON output) and tests key on `code`; the prose may change, the codes do not.
 * Modelled on aws-cdk-cli toolkit-lib's `io/private/messages.ts`.
 */
export type MessageLevel = 'debug' | 'info' | 'warn' | 'error' | 'result';

export interface MessageSpec {
  readonly code: string;
  readonly level: MessageLevel;
  /** When it is emitted, for docs and for people reading the JSON stream. */
  readonly description: string;
}

function spec(code: string, level: MessageLevel, description: string): MessageSpec {
  return { code, level, description };
}

export const MSG = {
  RUN_START: spec(
    'EKL_PROV_I0001',
    'info',
    'A plan, apply or destroy run starts; data: command, topology, deployment.',
  ),
  ACCOUNT_VERIFIED: spec(
    'EKL_PROV_I0002',
    'debug',
    'Credentials for an account resolved to the configured account ID.',
  ),
  PREFLIGHT_OK: spec(
    'EKL_PROV_I0003',
    'info',
    'Preflight found every VPC, subnet, security group, route table and hosted zone the config names, and they fit together.',
  ),
  PREFLIGHT_PROBLEM: spec(
    'EKL_PROV_E0004',
    'error',
    'Preflight found a problem in the config (nothing is created); data: account, key, value, problem, fix.',
  ),
  STEP_READ: spec('EKL_PROV_I1001', 'debug', 'A step read the current state of its resources.'),
  STEP_PLANNED: spec('EKL_PROV_I1002', 'info', 'A step planned its changes; data: changes[].'),
  PLAN_SUMMARY: spec('EKL_PROV_I1003', 'result', 'The whole plan; data: counts per action and steps[].'),
  STEP_START: spec('EKL_PROV_I2001', 'info', 'Apply or destroy of a step starts.'),
  STEP_DONE: spec('EKL_PROV_I2002', 'info', 'A step finished with changes; data: elapsedMs, changes[].'),
  STEP_UNCHANGED: spec('EKL_PROV_I2003', 'info', 'A step needed no change; data: elapsedMs.'),
  CHANGE_DONE: spec('EKL_PROV_I2004', 'debug', 'One resource change was made.'),
  APPLY_SUMMARY: spec('EKL_PROV_I2005', 'result', 'Apply finished; data: changed (count), outputs.'),
  DESTROY_SUMMARY: spec('EKL_PROV_I2006', 'result', 'Destroy finished; data: deleted (count).'),
  OUTPUTS: spec('EKL_PROV_I2007', 'result', 'The deployment outputs; data: outputs.'),
  RETRY: spec(
    'EKL_PROV_W3001',
    'warn',
    'An AWS call failed with a retryable error and will be retried; data: awsCode, attempt, delayMs.',
  ),
  WAITING: spec('EKL_PROV_I3002', 'debug', 'A waiter polled a resource that is not ready yet; data: state.'),
  FOREIGN_PENDING_CONNECTION: spec(
    'EKL_PROV_W4001',
    'warn',
    'A pending endpoint connection that this deployment did not create was left alone; data: vpcEndpointId, owner.',
  ),
  DUPLICATE_RESOURCE: spec(
    'EKL_PROV_W4002',
    'warn',
    "More than one resource carries this deployment's tags: the one in use (else the oldest) is kept, the others are planned for deletion; data: kind, kept, removed[], why.",
  ),
  FOREIGN_CONNECTION_REJECTED: spec(
    'EKL_PROV_W4003',
    'warn',
    'destroy rejected an endpoint connection this deployment did not create, so the endpoint service could be deleted; data: serviceId, vpcEndpointId, owner, state.',
  ),
  ALREADY_THERE: spec(
    'EKL_PROV_I4004',
    'info',
    'A create or authorize answered that the thing is already there, and it is ours (a retried call that AWS had already carried out): counted as done; data: operation, resource.',
  ),
  STEP_FAILED: spec('EKL_PROV_E5001', 'error', 'A step failed; data: step, account, resource, awsCode.'),
} as const satisfies Record<string, MessageSpec>;

export type MessageName = keyof typeof MSG;
