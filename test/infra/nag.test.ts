/**
 * cdk-nag's AwsSolutions pack over every stack the app builds: no finding is left
 * unacknowledged, every acknowledgement has a reason and covers a finding that is really
 * raised (none is stale), and the set of acknowledgements is exactly the reviewed one.
 */
import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { MIN_REASON_LENGTH } from '../../infra/lib/nag.js';
import { ProxyFleetStack } from '../../infra/lib/proxy-fleet-stack.js';
import { WireGuardPeerStack } from '../../infra/lib/wireguard-peer-stack.js';
import { fleetProps, type NagResult, peerProps, runNag } from './helpers.js';
import { UNIT_PATH } from './unit-path.js';

const SSM = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]';
const CW = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/CloudWatchAgentServerPolicy]';
// The peer stack has a concrete env, as deployed: cdk-nag then spells region and account literally.
const INSTANCE_WILDCARD =
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:us-east-1:222222222222:instance/*]';
const ROUTE_TABLE = '@aws-cdk/aws-ec2:noSubnetRouteTableId';

const results: Record<string, NagResult> = {};

beforeAll(() => {
  // GIVEN both stacks, with every optional feature that adds resources turned on
  const app = new App();
  const fleet = new ProxyFleetStack(app, 'Fleet', {
    ...fleetProps({ systemdUnitPath: UNIT_PATH, proxyProtocolMode: 'required', desiredCapacity: 3 }),
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
  // WHEN the AwsSolutions pack validates each stack
  results.fleet = runNag(fleet);
  results.peer = runNag(peer);
});

describe.each(['fleet', 'peer'])('AwsSolutions on the %s stack', (name) => {
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
      `Fleet/Fleet/InstanceRole ${CW}`,
      `Fleet/Fleet/InstanceRole ${SSM}`,
    ].sort(),
  );
  expect(ids(results.peer!)).toEqual(
    [
      `Peer/Peer ${ROUTE_TABLE}`,
      'Peer/Peer/Asg AwsSolutions-AS3',
      `Peer/Peer/InstanceRole ${CW}`,
      `Peer/Peer/InstanceRole ${SSM}`,
      `Peer/Peer/InstanceRole ${INSTANCE_WILDCARD}`,
    ].sort(),
  );
});
