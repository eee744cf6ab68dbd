/**
 * cdk-nag's AwsSolutions pack over every stack the app builds: no finding is left
 * unacknowledged, every acknowledgement has a reason and covers a finding that is really
 * raised (none is stale), and the set of acknowledgements is exactly the reviewed one.
 */
import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { MIN_REASON_LENGTH } from '../../infra/lib/nag.js';
import { ProxyFleetStack } from '../../infra/lib/proxy-fleet-stack.js';
import { ProxyImagePipelineStack } from '../../infra/lib/image-pipeline-stack.js';
import { WireGuardPeerStack } from '../../infra/lib/wireguard-peer-stack.js';
import { fleetProps, type NagResult, peerProps, runNag } from './helpers.js';
import { UNIT_PATH } from './unit-path.js';

// No AWS managed policy on either role (AwsSolutions-IAM4 is never raised): the wildcards left
// are the actions without resource-level permissions, the instance ID and the ASG's UUID.
const STAR = 'AwsSolutions-IAM5[Resource::*]';
const FLEET_INSTANCES =
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]';
// The image pipeline's build instances keep the Image Builder and SSM managed policies (acknowledged).
const SSM = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]';
const IMAGE_BUILDER =
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/EC2InstanceProfileForImageBuilder]';
// The peer stack has a concrete env, as deployed: cdk-nag then spells region and account literally.
const PEER_INSTANCES =
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:us-east-1:222222222222:instance/*]';
const ownGroup = (partitionRegionAccount: string, logicalId: string) =>
  `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:${partitionRegionAccount}:autoScalingGroup:*:autoScalingGroupName/<${logicalId}>]`;
const ROUTE_TABLE = '@aws-cdk/aws-ec2:noSubnetRouteTableId';

const results: Record<string, NagResult> = {};

beforeAll(() => {
  // GIVEN both stacks, with every optional feature that adds resources turned on
  const app = new App();
  const fleet = new ProxyFleetStack(app, 'Fleet', {
    ...fleetProps({
      systemdUnitPath: UNIT_PATH,
      proxyProtocolMode: 'required',
      desiredCapacity: 3,
      amiKind: 'al2023',
      alarmTopicArn: 'arn:aws:sns:us-east-1:111111111111:ekslink-alarms',
    }),
    deploymentName: 'nag',
  });
  const peer = new WireGuardPeerStack(app, 'Peer', {
    env: { account: '222222222222', region: 'us-east-1' },
    ...peerProps({
      privateKeySecretKmsKeyArn:
        'arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    }),
    deploymentName: 'nag',
  });
  const pipeline = new ProxyImagePipelineStack(app, 'Pipeline', {
    deploymentName: 'nag',
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    vpcCidr: '10.0.0.0/16',
    subnetIds: ['subnet-0a1b2c3d4e5f60711'],
    availabilityZones: ['us-east-1a'],
    awsEndpointsSecurityGroupId: 'sg-0e1a2b3c4d5e6f709',
    s3PrefixListId: 'pl-63a5400a',
    scheduleExpression: 'cron(0 3 ? * MON *)',
  });
  // WHEN the AwsSolutions pack validates each stack
  results.fleet = runNag(fleet);
  results.peer = runNag(peer);
  results.pipeline = runNag(pipeline);
});

it('raises no managed-policy finding (AwsSolutions-IAM4) on either stack', () => {
  for (const r of [results.fleet!, results.peer!])
    expect(r.raised.filter((id) => id.startsWith('AwsSolutions-IAM4'))).toEqual([]);
});

describe.each(['fleet', 'peer', 'pipeline'])('AwsSolutions on the %s stack', (name) => {
  it('leaves no finding unacknowledged', () => {
    expect(results[name]!.unacknowledged).toEqual([]);
  });

  it('gives every acknowledgement a reason', () => {
    for (const a of results[name]!.acknowledged)
      expect(a.reason.length, a.id).toBeGreaterThanOrEqual(MIN_REASON_LENGTH);
  });

  it('acknowledges only findings the pack really raises (none stale)', () => {
    const raised = new Set(results[name]!.raised);
    const findings = results[name]!.acknowledged.filter((a) => a.id.startsWith('AwsSolutions-'));
    expect(findings.length).toBeGreaterThan(0);
    for (const a of findings) expect(raised.has(a.id), a.id).toBe(true);
  });
});

it('acknowledges exactly the reviewed set of findings', () => {
  const ids = (r: NagResult) => r.acknowledged.map((a) => `${a.path} ${a.id}`).sort();
  expect(ids(results.fleet!)).toEqual(
    [
      `Fleet/Fleet ${ROUTE_TABLE}`,
      'Fleet/Fleet/Asg AwsSolutions-AS3',
      `Fleet/Fleet/InstanceRole ${STAR}`,
      `Fleet/Fleet/InstanceRole ${FLEET_INSTANCES}`,
      `Fleet/Fleet/LifecycleHookPolicy ${ownGroup('<AWS::Region>:<AWS::AccountId>', 'FleetAsgASGE82FD2C4')}`,
    ].sort(),
  );
  expect(ids(results.peer!)).toEqual(
    [
      `Peer/Peer ${ROUTE_TABLE}`,
      'Peer/Peer/Asg AwsSolutions-AS3',
      `Peer/Peer/InstanceRole ${STAR}`,
      `Peer/Peer/InstanceRole ${PEER_INSTANCES}`,
      `Peer/Peer/TunnelHealthPolicy ${ownGroup('us-east-1:222222222222', 'PeerAsgASG5D57B197')}`,
    ].sort(),
  );
  expect(ids(results.pipeline!)).toEqual(
    [
      `Pipeline/ImagePipeline ${ROUTE_TABLE}`,
      `Pipeline/ImagePipeline/InstanceRole ${IMAGE_BUILDER}`,
      `Pipeline/ImagePipeline/InstanceRole ${SSM}`,
    ].sort(),
  );
});
