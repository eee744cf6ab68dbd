/**
 * WireGuardPeer: the AWS end of the WireGuard hop in the proxy account. A single-instance
 * ASG in a public subnet that takes over a fixed Elastic IP at boot, accepts WireGuard only
 * from the GCP egress CIDRs and forwards TCP 443 to the ekslink VPC endpoint. Its health is
 * the tunnel's: a watcher on the instance marks it unhealthy when the tunnel cannot carry
 * traffic, and Auto Scaling launches a replacement before terminating it. Its props are in
 * wireguard-peer-props.ts.
 */
import { Arn, Duration, Names, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import { AutoScalingGroup, HealthChecks, Signals, UpdatePolicy } from 'aws-cdk-lib/aws-autoscaling';
import { CfnEIP, Peer, Port, SecurityGroup, UserData } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeFinding } from './nag.js';
import {
  AGENT_METRICS_NAMESPACE,
  allowBaseEgress,
  createHardenedLaunchTemplate,
  createLogGroup,
  importSecurityGroup,
  importVpcSubnets,
  isRetentionDays,
} from './hardened-instance.js';
import { createInstanceRole, grantOwnAutoScalingGroup } from './instance-role.js';
import { ipv4At } from '../../common/cidr.js';
import { PropChecker } from './validate.js';
import { readPeerWireGuardFiles } from './wireguard-config.js';
import { DEFAULT_MAX_HANDSHAKE_AGE_SEC } from './wireguard-health.js';
import { peerUserData } from './wireguard-user-data.js';
import type { WireGuardPeerProps } from './wireguard-peer-props.js';
import { TUNNEL_METRICS_NAMESPACE, WireGuardTunnelHealth } from './wireguard-tunnel-health.js';

/** Tag key on the peer's instances; the role may only modify instances that carry its value. */
export const PEER_TAG_KEY = 'ekslink:wireguard-peer';

export type { WireGuardPeerProps };

const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/;

/** The WireGuard peer: one self-healing instance with a fixed Elastic IP. */
export class WireGuardPeer extends Construct {
  public readonly autoScalingGroup: AutoScalingGroup;
  public readonly securityGroup: SecurityGroup;
  /** The Elastic IP's allocation ID. */
  public readonly elasticIpAllocationId: string;
  /** The public address the GCP side dials (when the stack owns the Elastic IP). */
  public readonly publicIp?: string;
  /** The UDP port from the rendered config. */
  public readonly listenPort: number;
  public readonly tunnelHealth: WireGuardTunnelHealth;

  constructor(scope: Construct, id: string, props: WireGuardPeerProps) {
    super(scope, id);
    const c = new PropChecker(`WireGuardPeer '${this.node.path}'`);
    c.awsId('vpcId', props.vpcId, 'vpc');
    const vpcCidr = c.vpcCidr('vpcCidr', props.vpcCidr);
    const subnetIds = c.awsIds('publicSubnetIds', props.publicSubnetIds, 'subnet', 1);
    c.zones('availabilityZones', props.availabilityZones, 'publicSubnetIds', subnetIds, 1);
    const gcpCidrs = c.narrowCidrs('gcpEgressCidrs', props.gcpEgressCidrs);
    c.arn(
      'privateKeySecretArn',
      props.privateKeySecretArn,
      SECRET_ARN,
      'must be the full secret ARN including its 6-character suffix (aws secretsmanager describe-secret --secret-id NAME --query ARN)',
      '"arn:aws:secretsmanager:us-east-1:111122223333:secret:ekslink/wireguard-peer-AbCdEf"',
    );
    if (props.privateKeySecretKmsKeyArn !== undefined) {
      c.arn(
        'privateKeySecretKmsKeyArn',
        props.privateKeySecretKmsKeyArn,
        KMS_KEY_ARN,
        'must be a KMS key ARN',
        '"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"',
      );
    }
    c.awsId('vpcEndpointSecurityGroupId', props.vpcEndpointSecurityGroupId, 'sg');
    c.awsId('awsEndpointsSecurityGroupId', props.awsEndpointsSecurityGroupId, 'sg');
    c.awsId('s3PrefixListId', props.s3PrefixListId, 'pl');
    if (props.elasticIpAllocationId !== undefined)
      c.awsId('elasticIpAllocationId', props.elasticIpAllocationId, 'eipalloc');
    const interfaceName = props.interfaceName ?? 'ekslink0';
    if (!/^[A-Za-z0-9_=+.-]{1,15}$/.test(interfaceName)) {
      c.fail(
        'interfaceName',
        interfaceName,
        'must be a Linux interface name of 1-15 characters [A-Za-z0-9_=+.-]',
        '"ekslink0"',
      );
    }
    const files = readPeerWireGuardFiles(c, props.wireGuardConfig, props.nftablesRules);
    const instanceType = c.armInstanceType('instanceType', props.instanceType ?? 't4g.small', '"t4g.small"');
    const bootTimeoutSec = c.int('bootTimeoutSec', props.bootTimeoutSec ?? 600, 300, 3600, 600);
    const rootGib = c.int('rootVolumeSizeGib', props.rootVolumeSizeGib ?? 8, 8, 1024, 8);
    const maxHandshakeAgeSec = c.int(
      'maxHandshakeAgeSec',
      props.maxHandshakeAgeSec ?? DEFAULT_MAX_HANDSHAKE_AGE_SEC,
      DEFAULT_MAX_HANDSHAKE_AGE_SEC,
      3600,
      DEFAULT_MAX_HANDSHAKE_AGE_SEC,
    );
    const retention = props.logRetentionDays ?? 30;
    if (!isRetentionDays(retention)) {
      c.fail(
        'logRetentionDays',
        retention,
        'must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ...)',
        '30',
      );
    }
    this.listenPort = files.listenPort;

    const { vpc, subnets } = importVpcSubnets(this, {
      vpcId: props.vpcId,
      vpcCidr: vpcCidr.text,
      subnetIds,
      availabilityZones: props.availabilityZones,
      subnetKind: 'public',
    });
    this.securityGroup = new SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description:
        'ekslink WireGuard peer: WireGuard from the GCP egress CIDRs only, TLS to the ekslink VPC endpoint',
      allowAllOutbound: false,
    });
    for (const cidr of gcpCidrs) {
      const peer = cidr.family === 4 ? Peer.ipv4(cidr.text) : Peer.ipv6(cidr.text);
      this.securityGroup.addIngressRule(
        peer,
        Port.udp(files.listenPort),
        `WireGuard from GCP egress ${cidr.text}`,
      );
    }
    const vpce = importSecurityGroup(this, 'VpcEndpointSecurityGroup', props.vpcEndpointSecurityGroupId);
    this.securityGroup.addEgressRule(
      vpce,
      Port.tcp(443),
      'Tunnel traffic to the ekslink VPC endpoint (TLS only)',
    );
    allowBaseEgress(this, this.securityGroup, {
      resolverIp: ipv4At(vpcCidr, 2),
      awsEndpointsSecurityGroupId: props.awsEndpointsSecurityGroupId,
      s3PrefixListId: props.s3PrefixListId,
      descriptions: {
        awsEndpointsEgress: 'AWS APIs through the VPC interface endpoints',
        awsEndpointsIngress: 'ekslink WireGuard peer to the AWS interface endpoints',
        s3Egress: 'S3 gateway endpoint: AL2023 packages',
      },
    });

    if (props.elasticIpAllocationId !== undefined) {
      this.elasticIpAllocationId = props.elasticIpAllocationId;
    } else {
      const eip = new CfnEIP(this, 'ElasticIp', { domain: 'vpc' });
      // The address is what the GCP side dials: replacing or deleting the stack must not release it.
      eip.applyRemovalPolicy(RemovalPolicy.RETAIN);
      this.elasticIpAllocationId = eip.attrAllocationId;
      this.publicIp = eip.attrPublicIp;
    }

    const tagValue = Names.uniqueResourceName(this, { maxLength: 128 });
    const logGroup = createLogGroup(this, 'Logs', retention);
    const role = createInstanceRole(this, 'InstanceRole', {
      description:
        'ekslink WireGuard peer: SSM, own log group and metrics, its private key secret, its Elastic IP, own health',
      logGroup,
      metricNamespaces: [AGENT_METRICS_NAMESPACE, TUNNEL_METRICS_NAMESPACE],
    });
    this.grantPeerActions(role, props, tagValue);

    const userData = UserData.forLinux();
    userData.addCommands(
      ...peerUserData({
        interfaceName,
        files,
        wireGuardConfig: props.wireGuardConfig,
        nftablesRules: props.nftablesRules,
        privateKeySecretArn: props.privateKeySecretArn,
        elasticIpAllocationId: this.elasticIpAllocationId,
        logGroupName: logGroup.logGroupName,
        maxHandshakeAgeSec,
      }),
    );
    // Tunnel health: the handshake age as a metric, and an alarm on it (wireguard-tunnel-health.ts).
    this.tunnelHealth = new WireGuardTunnelHealth(this, 'TunnelHealth', {
      interfaceName,
      userData,
      maxHandshakeAgeSec,
    });
    const launchTemplate = createHardenedLaunchTemplate(this, 'LaunchTemplate', {
      instanceType,
      securityGroup: this.securityGroup,
      role,
      userData,
      rootVolumeSizeGib: rootGib,
    });

    this.autoScalingGroup = new AutoScalingGroup(this, 'Asg', {
      vpc,
      vpcSubnets: { subnets },
      launchTemplate,
      minCapacity: 1,
      maxCapacity: 1,
      // EC2 status checks, plus the tunnel watcher's set-instance-health (ignored during the boot grace).
      healthChecks: HealthChecks.ec2({ gracePeriod: Duration.seconds(bootTimeoutSec) }),
      // Replacing an unhealthy peer: launch the new one first (it takes the Elastic IP at boot),
      // then terminate the old one, so the outage is the new instance's boot, not boot + termination.
      minHealthyPercentage: 100,
      maxHealthyPercentage: 200,
      // A deploy's rolling update terminates the old instance first (one instance, MaxSize 1;
      // brief tunnel outage, the GCP side's keepalive re-establishes it) and the new one must
      // signal before the deploy goes on.
      signals: Signals.waitForAll({ timeout: Duration.seconds(bootTimeoutSec) }),
      updatePolicy: UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: 0,
        waitOnResourceSignals: true,
        pauseTime: Duration.seconds(bootTimeoutSec),
      }),
    });
    Tags.of(this.autoScalingGroup).add(PEER_TAG_KEY, tagValue, { applyToLaunchedInstances: true });
    userData.addSignalOnExitCommand(this.autoScalingGroup);
    grantOwnAutoScalingGroup(this, 'TunnelHealthPolicy', role, this.autoScalingGroup, [
      'autoscaling:SetInstanceHealth',
    ]);

    acknowledgeFinding(
      this.autoScalingGroup,
      'AwsSolutions-AS3',
      'A single self-healing instance: replacements are visible in the ASG activity history and CloudWatch; ekslink ships no SNS topic. Route autoscaling events with EventBridge if you need push notifications.',
    );
  }

  /** The secret (and its key), and the Elastic IP to its own instances only. */
  private grantPeerActions(
    role: ReturnType<typeof createInstanceRole>,
    props: WireGuardPeerProps,
    tagValue: string,
  ) {
    const stack = Stack.of(this);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [props.privateKeySecretArn],
      }),
    );
    if (props.privateKeySecretKmsKeyArn !== undefined) {
      role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [props.privateKeySecretKmsKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
        }),
      );
    }
    const instances = Arn.format({ service: 'ec2', resource: 'instance', resourceName: '*' }, stack);
    const eipArn = Arn.format(
      { service: 'ec2', resource: 'elastic-ip', resourceName: this.elasticIpAllocationId },
      stack,
    );
    const ownInstances = { StringEquals: { [`aws:ResourceTag/${PEER_TAG_KEY}`]: tagValue } };
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['ec2:AssociateAddress'], resources: [eipArn] }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['ec2:AssociateAddress'],
        resources: [instances],
        conditions: ownInstances,
      }),
    );
  }
}
