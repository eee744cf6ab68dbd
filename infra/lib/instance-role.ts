/**
 * The instance role both instance kinds share, scoped by hand instead of the AWS managed
 * policies: `AmazonSSMManagedInstanceCore` grants `ssm:GetParameter*` (every parameter in
 * the account) and State Manager/inventory/patching actions, `CloudWatchAgentServerPolicy`
 * grants log writes to every log group and metrics in every namespace. Here the role keeps
 * what the SSM agent needs for Session Manager and Run Command, log writes to the stack's
 * own log group, and metrics in the agent's namespace only. Plus actions on the instance's
 * own Auto Scaling group, named by its ARN.
 */
import { Arn, Stack } from 'aws-cdk-lib';
import type { AutoScalingGroup } from 'aws-cdk-lib/aws-autoscaling';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { AGENT_METRICS_NAMESPACE } from './hardened-instance.js';
import { acknowledgeFinding, nagArn } from './nag.js';

/** What the SSM agent calls for Session Manager (ssmmessages) and Run Command (ec2messages). */
export const SSM_AGENT_MESSAGE_ACTIONS = [
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
  'ec2messages:AcknowledgeMessage',
  'ec2messages:DeleteMessage',
  'ec2messages:FailMessage',
  'ec2messages:GetEndpoint',
  'ec2messages:GetMessages',
  'ec2messages:SendReply',
] as const;

/** What the CloudWatch agent calls to ship files into an existing log group. */
export const LOG_SHIPPING_ACTIONS = [
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'logs:DescribeLogStreams',
] as const;

export interface InstanceRoleOptions {
  readonly description: string;
  /** The stack's log group: the only one the CloudWatch agent may write to. */
  readonly logGroup: ILogGroup;
  /**
   * CloudWatch namespaces the instance may put metrics in (the agent's, and any a script on
   * the instance publishes to).
   * @default - [AGENT_METRICS_NAMESPACE]
   */
  readonly metricNamespaces?: readonly string[];
}

/** Instance role: SSM (the only way in; no SSH, no key pair), its own log group, its metrics. */
export function createInstanceRole(scope: Construct, id: string, o: InstanceRoleOptions): Role {
  const role = new Role(scope, id, {
    assumedBy: new ServicePrincipal('ec2.amazonaws.com'),
    description: o.description,
  });
  const stack = Stack.of(scope);
  // The agent registers (and keeps updating) this instance as a managed node.
  role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['ssm:UpdateInstanceInformation'],
      resources: [Arn.format({ service: 'ec2', resource: 'instance', resourceName: '*' }, stack)],
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({ actions: [...SSM_AGENT_MESSAGE_ACTIONS], resources: ['*'] }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({ actions: [...LOG_SHIPPING_ACTIONS], resources: [o.logGroup.logGroupArn] }),
  );
  const namespaces = o.metricNamespaces ?? [AGENT_METRICS_NAMESPACE];
  role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: {
        StringEquals: { 'cloudwatch:namespace': namespaces.length === 1 ? namespaces[0] : [...namespaces] },
      },
    }),
  );
  acknowledgeFinding(
    role,
    'AwsSolutions-IAM5[Resource::*]',
    `ssmmessages:* and ec2messages:* (Session Manager and Run Command channels of the SSM agent) and cloudwatch:PutMetricData have no resource-level permissions; PutMetricData is limited by condition to the ${namespaces.join(', ')} namespace(s). No ssm:GetParameter*, no State Manager, no other log group.`,
  );
  acknowledgeFinding(
    role,
    `AwsSolutions-IAM5[Resource::${nagArn(scope, 'ec2', 'instance/*')}]`,
    'ssm:UpdateInstanceInformation names the instance, whose ID is known only after the ASG launches it: limited to EC2 instances of this account and Region (other statements on instance/* are limited by the peer tag).',
  );
  return role;
}

/**
 * Let the role call `actions` on exactly this Auto Scaling group. The group's ARN carries
 * a UUID known only after creation, so it is matched by name (`autoScalingGroup:*:
 * autoScalingGroupName/<name>`, aws-cdk's `autoScalingGroupArn`, as its ECS drain hook
 * does). The statement lives in a policy of its own: it refers to the group, which refers
 * to the launch template and so to the role, and a statement in the role's default policy
 * would close that loop.
 */
export function grantOwnAutoScalingGroup(
  scope: Construct,
  id: string,
  role: Role,
  group: AutoScalingGroup,
  actions: readonly string[],
): Policy {
  const policy = new Policy(scope, id, {
    roles: [role],
    statements: [new PolicyStatement({ actions: [...actions], resources: [group.autoScalingGroupArn] })],
  });
  const stack = Stack.of(scope);
  const groupId = stack.getLogicalId(group.node.defaultChild as never);
  acknowledgeFinding(
    policy,
    `AwsSolutions-IAM5[Resource::${nagArn(scope, 'autoscaling', `autoScalingGroup:*:autoScalingGroupName/<${groupId}>`)}]`,
    `The only wildcard is the group's UUID, known only after creation; the group name pins ${actions.join(', ')} to this one Auto Scaling group.`,
  );
  return policy;
}
