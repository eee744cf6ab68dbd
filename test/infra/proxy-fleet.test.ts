/**
 * ProxyFleet's security properties and ASG behaviour, one assertion per property, on a
 * template synthesized once (GIVEN) and read by every test (WHEN/THEN).
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { LOG_SHIPPING_ACTIONS, SSM_AGENT_MESSAGE_ACTIONS } from '../../infra/lib/instance-role.js';
import { DRAIN_MARGIN_SEC, type ProxyFleetProps } from '../../infra/lib/proxy-fleet.js';
import { ProxyFleetStack } from '../../infra/lib/proxy-fleet-stack.js';
import { DRAIN_HOOK_NAME, lifecycleWatchScript } from '../../infra/lib/lifecycle.js';
import { PROXY_UNIT_NAME } from '../../infra/lib/proxy-user-data.js';
import { parseProxyConfig } from '../../proxy/config/schema.js';
import {
  allIngressSources,
  EXAMPLE_AMI_ID,
  fleetProps,
  heredocFile,
  inlineStatements,
  managedPolicyArns,
  onlyResource,
  rules,
  rulesOf,
  userDataOf,
} from './helpers.js';
import { UNIT_PATH } from './unit-path.js';

const INSTANCES = 'arn:${Ref:AWS::Partition}:ec2:${Ref:AWS::Region}:${Ref:AWS::AccountId}:instance/*';

const PROPS = fleetProps({
  eksApiHostnames: [
    '0123456789abcdef0123456789abcdef.gr7.us-east-1.eks.amazonaws.com',
    'fedcba9876543210fedcba9876543210.yl4.us-east-1.eks.amazonaws.com',
  ],
  proxyProtocolMode: 'required',
  allowedVpcEndpointIds: ['vpce-0123456789abcdef0'],
  drainGraceSec: 20,
  drainDeadlineSec: 600,
  healthPort: 9090,
  // The target group sized for that drain, as `provision apply` would with these settings.
  targetGroupSettings: {
    proxyProtocolV2: true,
    deregistrationDelaySec: 20 + 600 + DRAIN_MARGIN_SEC,
    connectionTermination: false,
    healthCheckPort: 9090,
    healthCheckIntervalSec: 5,
    unhealthyThresholdCount: 2,
  },
  systemdUnitPath: UNIT_PATH,
});

function synth(props: ProxyFleetProps): Template {
  const app = new App();
  return Template.fromStack(new ProxyFleetStack(app, 'Fleet', { ...props, deploymentName: 'test' }));
}

let template: Template;
let userData: string;
let fleetSg: string;

beforeAll(() => {
  // GIVEN a fleet with two routes, PROXY protocol and non-default drain and health settings
  template = synth(PROPS);
  userData = userDataOf(template);
  fleetSg = onlyResource(template, 'AWS::EC2::SecurityGroup')[0];
});

describe('launch template hardening', () => {
  it('requires IMDSv2 with a hop limit of 1', () => {
    // WHEN the launch template is read THEN tokens are required and cannot leave the host
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: Match.objectLike({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 }),
      }),
    });
  });

  it('gives the instances no public IP and no key pair', () => {
    const [, lt] = onlyResource(template, 'AWS::EC2::LaunchTemplate');
    const data = (lt.Properties as { LaunchTemplateData: Record<string, unknown> }).LaunchTemplateData;
    // THEN the only network interface has no public address and no SSH key is named
    expect(data.NetworkInterfaces).toEqual([
      expect.objectContaining({ AssociatePublicIpAddress: false, DeviceIndex: 0 }),
    ]);
    expect(data.KeyName).toBeUndefined();
  });

  it('uses an encrypted gp3 root volume and detailed monitoring', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        BlockDeviceMappings: [
          { DeviceName: '/dev/xvda', Ebs: Match.objectLike({ Encrypted: true, VolumeType: 'gp3' }) },
        ],
        Monitoring: { Enabled: true },
        InstanceType: 't4g.small',
      }),
    });
  });

  it('boots the pinned AMI from the props, never "latest" from an SSM parameter', () => {
    const parameters = template.findParameters('*', {
      Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
    });
    expect(parameters).toEqual({});
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ ImageId: EXAMPLE_AMI_ID }),
    });
  });
});

describe('security groups', () => {
  it('has exactly the fleet rules: 443 and health from the NLB security group only; 443 to the cluster, endpoints and S3; DNS to the resolver', () => {
    // WHEN every rule of the fleet group is collected (inline and standalone)
    // THEN it is exactly this set, nothing more
    expect(rulesOf(template, fleetSg)).toEqual(
      rules([
        { direction: 'ingress', protocol: 'tcp', fromPort: 443, toPort: 443, peer: 'sg-0b1a2b3c4d5e6f70a' },
        { direction: 'ingress', protocol: 'tcp', fromPort: 9090, toPort: 9090, peer: 'sg-0b1a2b3c4d5e6f70a' },
        { direction: 'egress', protocol: 'tcp', fromPort: 443, toPort: 443, peer: 'sg-0c1a2b3c4d5e6f708' },
        { direction: 'egress', protocol: 'tcp', fromPort: 443, toPort: 443, peer: 'sg-0e1a2b3c4d5e6f709' },
        { direction: 'egress', protocol: 'tcp', fromPort: 443, toPort: 443, peer: 'pl-63a5400a' },
        { direction: 'egress', protocol: 'udp', fromPort: 53, toPort: 53, peer: '10.0.0.2/32' },
        { direction: 'egress', protocol: 'tcp', fromPort: 53, toPort: 53, peer: '10.0.0.2/32' },
      ]),
    );
  });

  it('gives the EKS cluster security group exactly the matching ingress rule', () => {
    expect(rulesOf(template, 'sg-0c1a2b3c4d5e6f708')).toEqual([
      {
        direction: 'ingress',
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        peer: `\${GetAtt:${fleetSg}.GroupId}`,
      },
    ]);
  });

  it('gives the AWS interface endpoints group exactly the matching ingress rule', () => {
    expect(rulesOf(template, 'sg-0e1a2b3c4d5e6f709')).toEqual([
      {
        direction: 'ingress',
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        peer: `\${GetAtt:${fleetSg}.GroupId}`,
      },
    ]);
  });

  it('has no ingress from 0.0.0.0/0 or ::/0 anywhere, and none from any CIDR to the fleet', () => {
    const sources = allIngressSources(template);
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.filter((s) => s.endsWith('/0'))).toEqual([]);
    // /metrics and the data port: a host in the VPC reaches neither without passing the NLB.
    expect(
      rulesOf(template, fleetSg).filter((r) => r.direction === 'ingress' && r.peer.includes('/')),
    ).toEqual([]);
  });
});

describe('instance role', () => {
  it('carries no AWS managed policy', () => {
    expect(managedPolicyArns(template)).toEqual([]);
  });

  it('may use SSM, write its own log group and metrics, signal its stack and complete its own hook, nothing else', () => {
    const [logGroupId] = onlyResource(template, 'AWS::Logs::LogGroup');
    const [asgId] = onlyResource(template, 'AWS::AutoScaling::AutoScalingGroup');
    const statements = inlineStatements(template);
    expect(statements).toEqual([
      { Action: 'ssm:UpdateInstanceInformation', Effect: 'Allow', Resource: INSTANCES },
      { Action: [...SSM_AGENT_MESSAGE_ACTIONS], Effect: 'Allow', Resource: '*' },
      { Action: [...LOG_SHIPPING_ACTIONS], Effect: 'Allow', Resource: `\${GetAtt:${logGroupId}.Arn}` },
      {
        Action: 'cloudwatch:PutMetricData',
        Effect: 'Allow',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': 'ekslink' } },
      },
      { Action: 'cloudformation:SignalResource', Effect: 'Allow', Resource: '${Ref:AWS::StackId}' },
      {
        Action: 'autoscaling:CompleteLifecycleAction',
        Effect: 'Allow',
        Resource: `arn:\${Ref:AWS::Partition}:autoscaling:\${Ref:AWS::Region}:\${Ref:AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/\${Ref:${asgId}}`,
      },
    ]);
    // (A baked image downloads nothing: no s3:GetObject; the stock-image kit read is in instance-install.test.ts.)
  });

  it('cannot read SSM parameters, secrets or any log group but its own', () => {
    const actions = inlineStatements(template).flatMap((s) => [s.Action].flat() as string[]);
    expect(
      actions.filter((a) => /^(ssm:Get|ssm:Describe|secretsmanager:|kms:|logs:CreateLogGroup)/.test(a)),
    ).toEqual([]);
  });

  it('reads its group name from IMDS tags: the launch template exposes instance tags', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: Match.objectLike({ InstanceMetadataTags: 'enabled' }),
      }),
    });
  });
});

describe('auto scaling group', () => {
  it('defaults to 2/2/4 across the two AZ subnets, attached to the target group with ELB health checks', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '2',
      MaxSize: '4',
      DesiredCapacity: Match.absent(),
      VPCZoneIdentifier: PROPS.privateSubnetIds,
      TargetGroupARNs: [PROPS.targetGroupArn],
      HealthCheckType: 'ELB',
      HealthCheckGracePeriod: 300,
    });
  });

  it('holds terminating instances for grace + deadline + margin at most, under the name the watcher completes', () => {
    template.hasResourceProperties('AWS::AutoScaling::LifecycleHook', {
      LifecycleHookName: DRAIN_HOOK_NAME,
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      DefaultResult: 'CONTINUE',
      HeartbeatTimeout: 20 + 600 + DRAIN_MARGIN_SEC,
    });
    // AND systemd waits as long for the proxy to stop
    expect(
      heredocFile(userData, '/etc/systemd/system/ekslink-proxy.service.d/10-ekslink-fleet.conf'),
    ).toContain(`TimeoutStopSec=${20 + 600 + DRAIN_MARGIN_SEC}\n`);
    // AND the watcher stops the proxy when the target lifecycle state turns Terminated, then
    // completes the hook (its terminate path runs in test/infra/lifecycle-watch.test.ts)
    expect(heredocFile(userData, '/usr/local/sbin/ekslink-lifecycle-watch')).toBe(
      `${lifecycleWatchScript({ unitName: PROXY_UNIT_NAME })}\n`,
    );
  });

  it('tracks 50% average CPU', () => {
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' },
        TargetValue: 50,
      }),
    });
  });

  it('rolls one instance at a time keeping minCapacity in service, waiting for each /readyz signal', () => {
    template.hasResource('AWS::AutoScaling::AutoScalingGroup', {
      UpdatePolicy: Match.objectLike({
        AutoScalingRollingUpdate: Match.objectLike({
          MaxBatchSize: 1,
          MinInstancesInService: 2,
          WaitOnResourceSignals: true,
          PauseTime: 'PT15M',
        }),
      }),
      CreationPolicy: { ResourceSignal: { Count: 2, Timeout: 'PT15M' } },
    });
    expect(userData).toMatch(/cfn-signal --stack .* --resource FleetAsgASG[0-9A-F]+ .* -e \$exitCode/);
    expect(userData).toContain('curl -fsS -o /dev/null --max-time 3 http://127.0.0.1:9090/readyz');
  });
});

describe('user data', () => {
  it('writes a proxy config that is exactly the props, valid for the proxy', () => {
    // WHEN the config file is cut out of the user data and parsed as the proxy would
    const config = parseProxyConfig(parseYaml(heredocFile(userData, '/etc/ekslink/proxy.yaml')));
    // THEN every prop is there
    expect(config.routes.map((r) => [r.sni, r.upstreamHost, r.upstreamPort])).toEqual(
      PROPS.eksApiHostnames.map((h) => [h, h, 443]),
    );
    expect(config.listen).toMatchObject({ host: '0.0.0.0', port: 443 });
    expect(config.allowedUpstreamCidrs).toEqual(['10.0.0.0/16']);
    expect(config.dns.servers).toEqual(['10.0.0.2']);
    expect(config.proxyProtocol).toMatchObject({
      mode: 'required',
      allowedVpcEndpointIds: ['vpce-0123456789abcdef0'],
    });
    expect(config.health.port).toBe(9090);
    expect(config.drain).toEqual({ graceSec: 20, deadlineSec: 600 });
  });

  it('leaves the unit to the image and starts it through the kit script, which checks the config first', () => {
    expect(userData).not.toContain('cat > /etc/systemd/system/ekslink-proxy.service <<');
    expect(userData.indexOf("cat > /etc/ekslink/proxy.yaml <<'")).toBeLessThan(
      userData.indexOf('/usr/local/sbin/ekslink-install start'),
    );
  });

  it('fits the 16 KiB user data limit', () => {
    expect(Buffer.byteLength(userData)).toBeLessThan(16 * 1024 - 1024);
  });
});

describe('rolling on a new image or config', () => {
  it('changes the launch template when the AMI changes, and when a prop changes', () => {
    // WHEN the fleet is synthesized with another AMI, and again with another drain deadline
    const newImage = synth({ ...PROPS, amiId: 'ami-0f1e2d3c4b5a69788' });
    const newConfig = userDataOf(synth({ ...PROPS, drainDeadlineSec: 599 }));
    // THEN the launch template (so its version, so the rolling update) differs each time
    newImage.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ ImageId: 'ami-0f1e2d3c4b5a69788' }),
    });
    expect(userDataOf(newImage)).toBe(userData);
    expect(newConfig).not.toBe(userData);
    expect(heredocFile(newConfig, '/etc/ekslink/proxy.yaml')).toContain('deadlineSec: 599');
  });
});
