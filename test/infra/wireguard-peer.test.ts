/**
 * WireGuardPeer: the peer's security properties on one synthesized template, fed with the
 * files `ekslink wireguard render` produces (rendered here by the real renderer).
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { LOG_SHIPPING_ACTIONS, SSM_AGENT_MESSAGE_ACTIONS } from '../../infra/lib/instance-role.js';
import {
  TUNNEL_HEALTH_SCRIPT,
  TUNNEL_HEALTH_UNIT,
  tunnelHealthScript,
  tunnelHealthUnit,
} from '../../infra/lib/wireguard-health.js';
import { PEER_TAG_KEY } from '../../infra/lib/wireguard-peer.js';
import { WireGuardPeerStack } from '../../infra/lib/wireguard-peer-stack.js';
import { wireguardConfigSchema } from '../../provisioner/wireguard/config.js';
import { renderAwsNftables, renderAwsSide } from '../../provisioner/wireguard/render-aws-side.js';
import {
  allIngressSources,
  EXAMPLES,
  heredocFile,
  inlineStatements,
  managedPolicyArns,
  onlyResource,
  peerProps,
  rules,
  rulesOf,
  userDataOf,
} from './helpers.js';

const SECRET_ARN =
  'arn:aws:secretsmanager:us-east-1:222222222222:secret:ekslink/example/wireguard-peer-AbCdEf';

let template: Template;
let userData: string;
let peerSg: string;
let rendered: { conf: string; nft: string };

beforeAll(() => {
  // GIVEN the AWS-side files rendered by `ekslink wireguard render` in key-file mode, on port 51821
  const input = parseYaml(readFileSync(join(EXAMPLES, 'wireguard-render.yaml'), 'utf8'));
  const config = wireguardConfigSchema.parse({ ...input, aws: { ...input.aws, listenPort: 51821 } });
  const keys = {
    gcp: { kind: 'file', privateKeyFile: '/etc/wireguard/ekslink0.key', publicKey: config.gcp.publicKey! },
    aws: { kind: 'file', privateKeyFile: '/etc/wireguard/ekslink0.key', publicKey: config.aws.publicKey! },
  } as const;
  rendered = { conf: renderAwsSide(config, keys), nft: renderAwsNftables(config) };
  const app = new App();
  const stack = new WireGuardPeerStack(app, 'Peer', {
    ...peerProps({ wireGuardConfig: rendered.conf, nftablesRules: rendered.nft }),
    deploymentName: 'test',
  });
  template = Template.fromStack(stack);
  userData = userDataOf(template);
  peerSg = onlyResource(template, 'AWS::EC2::SecurityGroup')[0];
});

describe('network', () => {
  it('opens only the rendered UDP port, only to the GCP egress CIDRs, and egress only to what the peer needs', () => {
    expect(rulesOf(template, peerSg)).toEqual(
      rules([
        { direction: 'ingress', protocol: 'udp', fromPort: 51821, toPort: 51821, peer: '203.0.113.10/32' },
        { direction: 'ingress', protocol: 'udp', fromPort: 51821, toPort: 51821, peer: '203.0.113.11/32' },
        { direction: 'egress', protocol: 'tcp', fromPort: 443, toPort: 443, peer: 'sg-0f1a2b3c4d5e6f701' },
        { direction: 'egress', protocol: 'tcp', fromPort: 443, toPort: 443, peer: 'sg-0f1a2b3c4d5e6f702' },
        { direction: 'egress', protocol: 'tcp', fromPort: 443, toPort: 443, peer: 'pl-63a5400a' },
        { direction: 'egress', protocol: 'udp', fromPort: 53, toPort: 53, peer: '10.1.0.2/32' },
        { direction: 'egress', protocol: 'tcp', fromPort: 53, toPort: 53, peer: '10.1.0.2/32' },
      ]),
    );
  });

  it('has no ingress from 0.0.0.0/0 or ::/0 anywhere', () => {
    expect(allIngressSources(template).filter((s) => s.endsWith('/0'))).toEqual([]);
  });

  it('leaves the provisioner-owned VPC endpoint group alone and adds the endpoints ingress', () => {
    expect(rulesOf(template, 'sg-0f1a2b3c4d5e6f701')).toEqual([]);
    expect(rulesOf(template, 'sg-0f1a2b3c4d5e6f702')).toEqual([
      {
        direction: 'ingress',
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        peer: `\${GetAtt:${peerSg}.GroupId}`,
      },
    ]);
  });

  it('owns an Elastic IP that user data moves to the running instance, and keeps the source/dest check on', () => {
    const [eipId] = onlyResource(template, 'AWS::EC2::EIP');
    expect(userData).toContain(
      `aws ec2 associate-address --region "$REGION" --instance-id "$INSTANCE_ID" --allocation-id \${GetAtt:${eipId}.AllocationId} --allow-reassociation`,
    );
    // Masquerade: every packet on the ENI is the instance's own, so EC2's check never drops one.
    expect(userData).not.toContain('source-dest-check');
    expect(rendered.nft).toContain('masquerade');
    template.hasOutput('*', { Value: { 'Fn::GetAtt': [eipId, 'PublicIp'] } });
  });

  it('retains the Elastic IP when the stack is deleted or the address resource replaced', () => {
    template.hasResource('AWS::EC2::EIP', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('same hardening as the fleet', () => {
  it('requires IMDSv2 (hop limit 1), no public IP at launch, encrypted gp3, detailed monitoring, AL2023 arm64', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: {
          HttpTokens: 'required',
          HttpPutResponseHopLimit: 1,
          InstanceMetadataTags: 'enabled',
        },
        NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: false })],
        BlockDeviceMappings: [
          { DeviceName: '/dev/xvda', Ebs: Match.objectLike({ Encrypted: true, VolumeType: 'gp3' }) },
        ],
        Monitoring: { Enabled: true },
        KeyName: Match.absent(),
      }),
    });
  });

  it('is a single self-healing instance, replaced launch-first, that must signal before a deploy goes on', () => {
    template.hasResource('AWS::AutoScaling::AutoScalingGroup', {
      Properties: Match.objectLike({
        MinSize: '1',
        MaxSize: '1',
        HealthCheckType: 'EC2',
        InstanceMaintenancePolicy: { MinHealthyPercentage: 100, MaxHealthyPercentage: 200 },
      }),
      CreationPolicy: { ResourceSignal: { Count: 1, Timeout: 'PT10M' } },
      UpdatePolicy: Match.objectLike({
        AutoScalingRollingUpdate: Match.objectLike({ MinInstancesInService: 0, WaitOnResourceSignals: true }),
      }),
    });
  });
});

describe('tunnel health', () => {
  it('runs the tunnel watcher for the rendered interface with the default 180 s handshake limit, after wg-quick', () => {
    expect(heredocFile(userData, TUNNEL_HEALTH_SCRIPT)).toBe(
      `${tunnelHealthScript({ interfaceName: 'ekslink0', maxHandshakeAgeSec: 180 })}\n`,
    );
    expect(heredocFile(userData, `/etc/systemd/system/${TUNNEL_HEALTH_UNIT}`)).toBe(
      `${tunnelHealthUnit('ekslink0')}\n`,
    );
    expect(userData.indexOf('systemctl enable --now wg-quick@ekslink0')).toBeLessThan(
      userData.indexOf(`systemctl enable --now ${TUNNEL_HEALTH_UNIT}`),
    );
  });

  it("refuses a handshake limit below WireGuard's 180 s session lifetime", () => {
    expect(
      () =>
        new WireGuardPeerStack(new App(), 'Peer', {
          ...peerProps({
            wireGuardConfig: rendered.conf,
            nftablesRules: rendered.nft,
            maxHandshakeAgeSec: 60,
          }),
          deploymentName: 'test',
        }),
    ).toThrow(/maxHandshakeAgeSec.*60/);
  });
});

describe('role', () => {
  it('has no managed policy; SSM, its own logs and metrics, the one secret, its Elastic IP, and its own health', () => {
    expect(managedPolicyArns(template)).toEqual([]);
    const [eipId] = onlyResource(template, 'AWS::EC2::EIP');
    const [logGroupId] = onlyResource(template, 'AWS::Logs::LogGroup');
    const [asgId, asg] = onlyResource(template, 'AWS::AutoScaling::AutoScalingGroup');
    const tag = (
      asg.Properties as { Tags: { Key: string; Value: string; PropagateAtLaunch: boolean }[] }
    ).Tags.find((t) => t.Key === PEER_TAG_KEY)!;
    expect(tag.PropagateAtLaunch).toBe(true);
    const instances = 'arn:${Ref:AWS::Partition}:ec2:${Ref:AWS::Region}:${Ref:AWS::AccountId}:instance/*';
    expect(inlineStatements(template)).toEqual([
      { Action: 'ssm:UpdateInstanceInformation', Effect: 'Allow', Resource: instances },
      { Action: [...SSM_AGENT_MESSAGE_ACTIONS], Effect: 'Allow', Resource: '*' },
      { Action: [...LOG_SHIPPING_ACTIONS], Effect: 'Allow', Resource: `\${GetAtt:${logGroupId}.Arn}` },
      {
        Action: 'cloudwatch:PutMetricData',
        Effect: 'Allow',
        Resource: '*',
        // The agent's namespace, and the tunnel-health metric's (wireguard-tunnel-health.ts).
        Condition: { StringEquals: { 'cloudwatch:namespace': ['ekslink', 'ekslink/wireguard'] } },
      },
      { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: SECRET_ARN },
      {
        Action: 'ec2:AssociateAddress',
        Effect: 'Allow',
        Resource: `arn:\${Ref:AWS::Partition}:ec2:\${Ref:AWS::Region}:\${Ref:AWS::AccountId}:elastic-ip/\${GetAtt:${eipId}.AllocationId}`,
      },
      {
        Action: 'ec2:AssociateAddress',
        Effect: 'Allow',
        Resource: instances,
        Condition: { StringEquals: { [`aws:ResourceTag/${PEER_TAG_KEY}`]: tag.Value } },
      },
      { Action: 'cloudformation:SignalResource', Effect: 'Allow', Resource: '${Ref:AWS::StackId}' },
      {
        Action: 'autoscaling:SetInstanceHealth',
        Effect: 'Allow',
        Resource: `arn:\${Ref:AWS::Partition}:autoscaling:\${Ref:AWS::Region}:\${Ref:AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/\${Ref:${asgId}}`,
      },
    ]);
  });
});

describe('key and config', () => {
  it('fetches the private key from Secrets Manager into the file PostUp loads, and never holds a key itself', () => {
    expect(userData).toContain(
      `--secret-id '${SECRET_ARN}' --query SecretString --output text > /etc/wireguard/ekslink0.key.new`,
    );
    expect(userData).toContain('( umask 077; aws secretsmanager get-secret-value');
    expect(userData).toContain(
      'mv /etc/wireguard/ekslink0.key.new /etc/wireguard/ekslink0.key && chmod 0600',
    );
    // Nothing in the template looks like a private key line, and the only 44-character keys are the GCP public key.
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/PrivateKey\s*=/);
    const keys = text.match(/[A-Za-z0-9+/]{43}=/g) ?? [];
    expect(new Set(keys)).toEqual(new Set([/PublicKey = (\S+)/.exec(rendered.conf)![1]]));
  });

  it('installs the rendered config and nftables rules unchanged and brings the interface up', () => {
    expect(heredocFile(userData, '/etc/wireguard/ekslink0.conf')).toBe(rendered.conf);
    expect(heredocFile(userData, '/etc/wireguard/ekslink0.nft')).toBe(rendered.nft);
    expect(userData).toMatch(/dnf install -y .*\bwireguard-tools\b.*\bnftables\b/);
    expect(userData).toContain('systemctl enable --now wg-quick@ekslink0.service');
    expect(userData.indexOf('ekslink0.key && chmod')).toBeLessThan(userData.indexOf('wg-quick@ekslink0'));
  });
});
