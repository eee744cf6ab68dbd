/**
 * The IAM permissions a step declares next to its calls (`Step.permissions`). They live in the
 * engine, not in iam/ (which builds the printed policy from them and re-exports them), so the
 * engine imports nothing above it.
 */
/**
 * What one group of calls needs: the actions, the resources, and which tag condition
 * AWS can enforce for them. Steps declare these next to the calls they make.
 */
export interface IamPermission {
  /** Fully qualified: `ec2:CreateVpcEndpoint`. */
  readonly actions: readonly string[];
  /**
   * ARN patterns, written in the `aws` partition (`arn:aws:ec2:*:*:vpc/*`): buildPolicy
   * rewrites them for aws-cn / aws-us-gov. `*` where the API has no resource-level permissions.
   */
  readonly resources: readonly string[];
  /**
   * `request`: creates that carry the tags (`aws:RequestTag/chalk.ai/managed-by`);
   * `resource`: calls on existing resources (`aws:ResourceTag/chalk.ai/managed-by`);
   * `none`: AWS supports no tag condition here (Describe*, or the untagged VPC/subnet side).
   */
  readonly tagCondition: 'request' | 'resource' | 'none';
  /** Extra condition block, e.g. `ec2:CreateAction` for ec2:CreateTags. */
  readonly condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
  /** Why the calls are made: becomes the statement's Sid. */
  readonly why: string;
  /** Account key whose role needs this, when not the declaring step's own account. */
  readonly account?: string;
  /**
   * With a deployment config (`iam-policy --config`): the exact resources (and conditions)
   * the calls touch, e.g. the configured security group's ARN instead of `security-group/*`.
   * Without it, or for what it leaves out, ARNs are placed in the account's region and ID.
   */
  readonly scoped?: (scope: PolicyScope) => {
    readonly resources?: readonly string[];
    readonly condition?: IamPermission['condition'];
  };
}

/** The account a policy is printed for, from the deployment config. */
export interface PolicyScope {
  readonly region: string;
  readonly accountId: string;
  /** The whole parsed deployment config of the topology. */
  readonly config: unknown;
}
