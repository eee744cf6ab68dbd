import { CreateSecurityGroupCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { isDeploymentResource, tagSpecifications } from '../../aws/tags.js';
import { MSG } from '../../engine/messages.js';
import { emit } from '../../engine/output.js';
import { AwsCallError, ProvisionError } from '../../errors.js';
import { waitUntilListed } from '../shared/visibility.js';
import type { GcpToAwsContext } from './context.js';

/** A security group a step creates: where, named what, and how its step finds it by tag. */
export interface NewSecurityGroup {
  readonly conn: GcpToAwsContext['consumer'];
  readonly account: 'provider' | 'consumer';
  readonly step: string;
  readonly name: string;
  readonly vpcId: string;
  readonly description: string;
  /** Whether the step's own tag-filtered read lists the group yet. */
  readonly listed: (id: string) => Promise<boolean>;
}

/**
 * CreateSecurityGroup has no idempotency token, but a group name is unique in its VPC: after
 * an unanswered try, or an `InvalidGroup.Duplicate`, the group of that name is ours if it
 * carries our tags (a retried create AWS had carried out), and someone else's otherwise.
 */
export async function createSecurityGroup(ctx: GcpToAwsContext, g: NewSecurityGroup): Promise<string> {
  const { conn, name, vpcId } = g;
  const deployment = ctx.config.deployment;
  const byName = async (): Promise<string | undefined> => {
    const out = await conn.call('DescribeSecurityGroups', `security group ${name}`, () =>
      conn.ec2.send(
        new DescribeSecurityGroupsCommand({
          Filters: [
            { Name: 'group-name', Values: [name] },
            { Name: 'vpc-id', Values: [vpcId] },
          ],
        }),
      ),
    );
    const group = out.SecurityGroups?.[0];
    if (group === undefined) return undefined;
    if (!isDeploymentResource(group.Tags, deployment)) {
      throw new ProvisionError(
        'EKL_PROVISION_AWS_CALL_FAILED',
        `security group ${group.GroupId} in ${vpcId} is named ${name} but does not carry deployment ${deployment}'s tags; delete or rename it, or choose another deployment name`,
        { awsCode: 'InvalidGroup.Duplicate', source: 'config' },
      );
    }
    emit(
      ctx.sink,
      MSG.ALREADY_THERE,
      ctx.clock.now(),
      `security group ${name} is already there: ${group.GroupId}`,
      {
        step: g.step,
        account: g.account,
        data: { operation: 'CreateSecurityGroup', resource: group.GroupId },
      },
    );
    return group.GroupId;
  };
  let id: string;
  try {
    id = await conn.call(
      'CreateSecurityGroup',
      `security group ${name}`,
      async () => {
        const out = await conn.ec2.send(
          new CreateSecurityGroupCommand({
            GroupName: name,
            Description: g.description,
            VpcId: vpcId,
            TagSpecifications: tagSpecifications('security-group', deployment, name),
          }),
        );
        return out.GroupId!;
      },
      { recheck: byName },
    );
  } catch (err) {
    if (!(err instanceof AwsCallError) || err.awsCode !== 'InvalidGroup.Duplicate') throw err;
    const found = await byName();
    if (found === undefined) throw err;
    id = found;
  }
  await waitUntilListed(
    ctx,
    { step: g.step, account: g.account },
    `security group ${id}`,
    () => g.listed(id),
    ctx.config.timeouts.endpointAvailableSec * 1000,
  );
  return id;
}
