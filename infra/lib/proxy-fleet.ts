/**
 * ProxyFleet: the Auto Scaling Group of ekslink proxies in the customer's data-plane VPC,
 * behind the internal NLB target group that `ekslink provision apply` created.
 */
import { Duration, Stack, Token } from 'aws-cdk-lib';
import {
  AdditionalHealthCheckType,
  AutoScalingGroup,
  HealthChecks,
  Signals,
  UpdatePolicy,
} from 'aws-cdk-lib/aws-autoscaling';
import { type InstanceType, type IVpc, Port, SecurityGroup, UserData } from 'aws-cdk-lib/aws-ec2';
import { NetworkTargetGroup } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeFinding } from './nag.js';
import { DEFAULT_BUNDLE_DIR, DEFAULT_SYSTEMD_UNIT_PATH, readProxyUnit, requireBundle } from './artifacts.js';
import {
  allowBaseEgress,
  createHardenedLaunchTemplate,
  createLogGroup,
  importSecurityGroup,
  importVpcSubnets,
  isRetentionDays,
} from './hardened-instance.js';
import { PROXY_DATA_PORT, renderProxyConfigFile, renderProxyConfigInput } from './proxy-config.js';
import { proxyUserData, PROXY_LOG } from './proxy-user-data.js';
import { createInstanceRole } from './instance-role.js';
import { addDrainHook, DRAIN_MARGIN_SEC, drainHookTiming } from './lifecycle.js';
import { type AmiKind, fleetImage, lookUpAmiId, validateFleetImage } from './fleet-image.js';
import { FleetAlarms } from './fleet-alarms.js';
import { fleetAgentConfig, prometheusScrapeConfig } from './fleet-metrics.js';
import { BOOTSTRAP_LOG } from './user-data-common.js';
import { ipv4At } from '../../common/cidr.js';
import { PropChecker } from './validate.js';
import { DEFAULT_DRAIN, MAX_LIFECYCLE_HEARTBEAT_SEC } from '../../common/drain-timing.js';
import { checkPairing, type Pairing, type TargetGroupSettings } from './fleet-pairing.js';

export { DRAIN_MARGIN_SEC };

export interface ProxyFleetProps {
  /** The data-plane VPC that holds the EKS cluster. */
  readonly vpcId: string;
  /** The VPC's primary IPv4 CIDR: ingress source, and the VPC resolver is its base address + 2. */
  readonly vpcCidr: string;
  /** Private subnets for the instances, in at least two Availability Zones. */
  readonly privateSubnetIds: string[];
  /** The Availability Zone of each private subnet, in the same order. */
  readonly availabilityZones: string[];
  /** The EKS cluster security group: the fleet may reach it on TCP 443 and it gets the matching ingress rule. */
  readonly clusterSecurityGroupId: string;
  /** EKS private API hostnames the proxy routes (each is both the SNI and the upstream host). */
  readonly eksApiHostnames: string[];
  /** Target group ARN from `ekslink provision apply`; the ASG registers its instances there. */
  readonly targetGroupArn: string;
  /**
   * The NLB's own security group (`loadBalancerSecurityGroupId` output of `ekslink provision
   * apply`): the only source the fleet admits on the data and health ports, so nothing in
   * the VPC reaches the proxies around the NLB.
   */
  readonly loadBalancerSecurityGroupId: string;
  /**
   * The target group's settings (`targetGroup` output of `ekslink provision apply`): synth
   * refuses a proxy that does not pair with them (PROXY v2, health port, drain timing).
   * @default - what `ekslink provision apply` sets by default: PROXY v2 on, deregistration
   *   delay grace + deadline + 30 s of the default drain, connection termination off
   */
  readonly targetGroupSettings?: TargetGroupSettings;
  /**
   * Security group of the VPC's interface endpoints (ssm, ssmmessages, ec2messages, logs,
   * monitoring, cloudformation): the instances' only way to AWS APIs besides S3.
   */
  readonly awsEndpointsSecurityGroupId: string;
  /** The S3 managed prefix list (pl-...) of the VPC's S3 gateway endpoint: asset and AL2023 packages. */
  readonly s3PrefixListId: string;
  /**
   * The pinned image the instances run (never "latest"): an ekslink AMI from the image
   * pipeline (its SSM parameter /ekslink/<deployment>/proxy-ami/arm64), or a stock AL2023
   * arm64 AMI with amiKind 'al2023'. Changing it rolls the fleet one instance at a time.
   * @default - the value of amiParameterName; one of the two is required
   */
  readonly amiId?: string;
  /**
   * Instead of amiId: the image pipeline's SSM parameter (/ekslink/<deployment>/proxy-ami/arm64),
   * looked up at synth and recorded in cdk.context.json (the template holds the literal id;
   * promote a new build with `cdk context --reset` on that entry). Needs the stack's account and region.
   * @default - amiId
   */
  readonly amiParameterName?: string;
  /**
   * 'ekslink': baked by the image pipeline, user data only writes config and starts the unit.
   * 'al2023': a stock image; user data installs the instance kit at boot (same script).
   * @default 'ekslink'
   */
  readonly amiKind?: AmiKind;
  /**
   * SNS topic the fleet's alarms notify (ALARM and OK).
   * @default - no action: alarms show in the console and the dashboard only
   */
  readonly alarmTopicArn?: string;
  /**
   * Upstream addresses the proxy may dial.
   * @default - the VPC CIDR
   */
  readonly allowedUpstreamCidrs?: string[];
  /**
   * Let allowedUpstreamCidrs (or the VPC CIDR) reach public address space: only for a VPC
   * that uses a public range privately, or an EKS API reached over the VPC's IPv6 range.
   * @default false
   */
  readonly allowPublicUpstreamCidrs?: boolean;
  /**
   * DNS server the proxy and the instances use.
   * @default - the VPC resolver, base of vpcCidr + 2
   */
  readonly dnsResolverIp?: string;
  /**
   * Instance type; must be Graviton (arm64).
   * @default 't4g.small'
   */
  readonly instanceType?: string;
  /** @default 2 */
  readonly minCapacity?: number;
  /**
   * Instances at creation. Left unset, CloudFormation starts at minCapacity and later
   * deploys keep whatever the CPU target tracking chose instead of resetting it.
   * @default - minCapacity (2)
   */
  readonly desiredCapacity?: number;
  /** @default 4 */
  readonly maxCapacity?: number;
  /**
   * Port of /healthz, /readyz and /metrics (the target group's health check port).
   * @default 8080
   */
  readonly healthPort?: number;
  /**
   * `required` when the target group has PROXY protocol v2 on; synth refuses a mismatch.
   * @default - follows targetGroupSettings.proxyProtocolV2 (`required` with the provisioner's default)
   */
  readonly proxyProtocolMode?: 'off' | 'required';
  /**
   * Only these VPC endpoints may connect (needs proxyProtocolMode `required`).
   * @default - any endpoint the endpoint service accepted
   */
  readonly allowedVpcEndpointIds?: string[];
  /**
   * After SIGTERM, seconds the proxy keeps accepting while the NLB notices /readyz failing.
   * @default 15
   */
  readonly drainGraceSec?: number;
  /**
   * Then, seconds existing connections get before they are closed.
   * @default 300
   */
  readonly drainDeadlineSec?: number;
  /**
   * Seconds after launch before ELB health checks can mark an instance unhealthy.
   * @default 300
   */
  readonly healthCheckGracePeriodSec?: number;
  /**
   * Seconds a new instance has to boot and pass /readyz before the deploy fails and rolls back.
   * @default 900
   */
  readonly bootTimeoutSec?: number;
  /**
   * Average CPU the target-tracking policy holds the group at.
   * @default 50
   */
  readonly cpuTargetUtilizationPercent?: number;
  /** @default 16 */
  readonly rootVolumeSizeGib?: number;
  /**
   * Retention of the fleet's CloudWatch log group (a CloudWatch Logs retention value).
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * Directory of the proxy bundle shipped as the S3 asset.
   * @default - the repository's dist/ (built by `npm run build`)
   */
  readonly bundleDir?: string;
  /**
   * The hardened systemd unit installed on the instances.
   * @default - packaging/systemd/ekslink-proxy.service in the repository
   */
  readonly systemdUnitPath?: string;
}

interface ResolvedFleetProps {
  readonly vpcCidr: string;
  readonly pairing: Pairing;
  readonly instanceType: InstanceType;
  readonly resolverIp: string;
  readonly min: number;
  readonly desired: number;
  readonly max: number;
  readonly healthPort: number;
  readonly drainGraceSec: number;
  readonly drainDeadlineSec: number;
  readonly healthGraceSec: number;
  readonly bootTimeoutSec: number;
  readonly cpuTarget: number;
  readonly rootGib: number;
  readonly retention: RetentionDays;
  readonly amiId: string;
  readonly amiKind: AmiKind;
}

const TARGET_GROUP_ARN =
  /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;

/**
 * The proxy fleet: launch template, ASG attached to the provisioner's target group,
 * security groups that name their peers, and an instance role with SSM, its own log group
 * and metrics, read of the bundle and completion of its own termination hook only.
 */
export class ProxyFleet extends Construct {
  public readonly autoScalingGroup: AutoScalingGroup;
  public readonly securityGroup: SecurityGroup;
  /** The config file the instances run, as rendered (YAML). */
  public readonly proxyConfigText: string;
  /** The `Fleet` dimension of the proxy's CloudWatch metrics: the stack's name. */
  public readonly fleetName: string;
  public readonly alarms: FleetAlarms;

  constructor(scope: Construct, id: string, props: ProxyFleetProps) {
    super(scope, id);
    const where = `ProxyFleet '${this.node.path}'`;
    const r = validate(new PropChecker(where), { ...props, amiId: fleetAmiId(this, where, props) });
    this.fleetName = Stack.of(this).stackName;

    const configInput = renderProxyConfigInput({
      eksApiHostnames: props.eksApiHostnames,
      allowedUpstreamCidrs: props.allowedUpstreamCidrs ?? [r.vpcCidr],
      allowPublicUpstreamCidrs: props.allowPublicUpstreamCidrs ?? false,
      dnsResolverIp: r.resolverIp,
      healthPort: r.healthPort,
      proxyProtocolMode: r.pairing.proxyProtocolMode,
      allowedVpcEndpointIds: props.allowedVpcEndpointIds ?? [],
      drainGraceSec: r.drainGraceSec,
      drainDeadlineSec: r.drainDeadlineSec,
    });
    this.proxyConfigText = renderProxyConfigFile(
      configInput,
      `${where} proxy config (rendered from props)`,
    ).text;
    const bundleDir = requireBundle(props.bundleDir ?? DEFAULT_BUNDLE_DIR);
    const unitPath = props.systemdUnitPath ?? DEFAULT_SYSTEMD_UNIT_PATH;
    const unit = readProxyUnit(unitPath);

    const { vpc, subnets } = importVpcSubnets(this, {
      vpcId: props.vpcId,
      vpcCidr: r.vpcCidr,
      subnetIds: props.privateSubnetIds,
      availabilityZones: props.availabilityZones,
      subnetKind: 'private',
    });
    this.securityGroup = this.createSecurityGroup(vpc, props, r);

    const logGroup = createLogGroup(this, 'Logs', r.retention);
    const role = createInstanceRole(this, 'InstanceRole', {
      description:
        'ekslink proxy instances: SSM, own log group and metrics, the instance kit on a stock image, own lifecycle hook',
      logGroup,
    });
    const image = fleetImage(this, { amiId: r.amiId, kind: r.amiKind, bundleDir, unitPath, role });

    const timing = drainHookTiming({ graceSec: r.drainGraceSec, deadlineSec: r.drainDeadlineSec });
    const userData = UserData.forLinux();
    userData.addCommands(
      ...proxyUserData({
        ...(image.bakeKit !== undefined ? { bakeKit: image.bakeKit } : {}),
        configText: this.proxyConfigText,
        unit,
        healthPort: r.healthPort,
        stopTimeoutSec: timing.stopTimeoutSec,
        readyTimeoutSec: Math.max(60, r.bootTimeoutSec - 120),
        agentConfig: fleetAgentConfig(logGroup.logGroupName, [
          { path: PROXY_LOG, streamSuffix: 'proxy' },
          { path: BOOTSTRAP_LOG, streamSuffix: 'bootstrap' },
        ]),
        scrapeConfig: prometheusScrapeConfig({ healthPort: r.healthPort, fleetName: this.fleetName }),
      }),
    );

    const launchTemplate = createHardenedLaunchTemplate(this, 'LaunchTemplate', {
      instanceType: r.instanceType,
      securityGroup: this.securityGroup,
      role,
      userData,
      rootVolumeSizeGib: r.rootGib,
      machineImage: image.machineImage,
    });

    this.autoScalingGroup = new AutoScalingGroup(this, 'Asg', {
      vpc,
      vpcSubnets: { subnets },
      launchTemplate,
      minCapacity: r.min,
      ...(props.desiredCapacity !== undefined ? { desiredCapacity: r.desired } : {}),
      maxCapacity: r.max,
      healthChecks: HealthChecks.withAdditionalChecks({
        additionalTypes: [AdditionalHealthCheckType.ELB],
        gracePeriod: Duration.seconds(r.healthGraceSec),
      }),
      // A new bundle, config or AMI is a new launch template version: replace one instance
      // at a time, never dropping below minCapacity in service, each new one signalling /readyz.
      signals: Signals.waitForMinCapacity({ timeout: Duration.seconds(r.bootTimeoutSec) }),
      updatePolicy: UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: r.min,
        waitOnResourceSignals: true,
        pauseTime: Duration.seconds(r.bootTimeoutSec),
      }),
      defaultInstanceWarmup: Duration.seconds(r.healthGraceSec),
    });
    userData.addSignalOnExitCommand(this.autoScalingGroup);

    this.autoScalingGroup.attachToNetworkTargetGroup(
      NetworkTargetGroup.fromTargetGroupAttributes(this, 'TargetGroup', {
        targetGroupArn: props.targetGroupArn,
      }),
    );
    addDrainHook(this, this.autoScalingGroup, role, timing);
    this.autoScalingGroup.scaleOnCpuUtilization('CpuTarget', { targetUtilizationPercent: r.cpuTarget });

    // Alarms on the signals docs/operations.md names, and the fleet's dashboard.
    this.alarms = new FleetAlarms(this, 'Alarms', {
      fleetName: this.fleetName,
      targetGroupArn: props.targetGroupArn,
      drainTotalSec: timing.stopTimeoutSec,
      ...(props.alarmTopicArn !== undefined ? { alarmTopicArn: props.alarmTopicArn } : {}),
    });

    acknowledgeFinding(
      this.autoScalingGroup,
      'AwsSolutions-AS3',
      'Scaling events are read from the ASG activity history and CloudWatch metrics; ekslink ships no SNS topic (an unsubscribed topic adds a resource and no signal). Route autoscaling events with EventBridge if you need push notifications.',
    );
  }

  private createSecurityGroup(vpc: IVpc, props: ProxyFleetProps, r: ResolvedFleetProps) {
    const sg = new SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description:
        'ekslink proxy fleet: TLS and health from the NLB security group only, TLS to the EKS API, DNS to the VPC resolver',
      allowAllOutbound: false,
    });
    // Only the NLB, never a CIDR: a host in the VPC that skipped the NLB could forge a PROXY
    // v2 header with an allowed endpoint ID, and read /metrics.
    const nlb = importSecurityGroup(this, 'LoadBalancerSecurityGroup', props.loadBalancerSecurityGroupId);
    sg.addIngressRule(nlb, Port.tcp(PROXY_DATA_PORT), 'TLS passthrough from the NLB security group');
    sg.addIngressRule(nlb, Port.tcp(r.healthPort), 'Health checks from the NLB security group');

    const cluster = importSecurityGroup(this, 'ClusterSecurityGroup', props.clusterSecurityGroupId);
    sg.addEgressRule(cluster, Port.tcp(443), 'TLS to the EKS API server');
    cluster.addIngressRule(sg, Port.tcp(443), 'ekslink proxy fleet to the EKS API server');

    allowBaseEgress(this, sg, {
      resolverIp: r.resolverIp,
      awsEndpointsSecurityGroupId: props.awsEndpointsSecurityGroupId,
      s3PrefixListId: props.s3PrefixListId,
      descriptions: {
        awsEndpointsEgress: 'AWS APIs through the VPC interface endpoints (SSM, logs, signals)',
        awsEndpointsIngress: 'ekslink proxy fleet to the AWS interface endpoints',
        s3Egress: 'S3 gateway endpoint: proxy bundle and AL2023 packages',
      },
    });
    return sg;
  }
}

/** amiId, or the looked-up value of amiParameterName; never both. */
function fleetAmiId(scope: Construct, where: string, props: ProxyFleetProps): string | undefined {
  if (props.amiParameterName === undefined) return props.amiId;
  if (props.amiId !== undefined) {
    new PropChecker(where).fail(
      'amiParameterName',
      props.amiParameterName,
      `must not be given with amiId (${props.amiId}): pin one or the other`,
      '"/ekslink/acme-prod/proxy-ami/arm64" without amiId',
    );
  }
  return lookUpAmiId(scope, props.amiParameterName);
}

function validate(c: PropChecker, props: ProxyFleetProps): ResolvedFleetProps {
  c.awsId('vpcId', props.vpcId, 'vpc');
  const vpcCidr = c.vpcCidr('vpcCidr', props.vpcCidr);
  const subnets = c.awsIds('privateSubnetIds', props.privateSubnetIds, 'subnet', 2);
  c.zones('availabilityZones', props.availabilityZones, 'privateSubnetIds', subnets, 2);
  c.awsId('clusterSecurityGroupId', props.clusterSecurityGroupId, 'sg');
  c.awsId('loadBalancerSecurityGroupId', props.loadBalancerSecurityGroupId, 'sg');
  c.awsId('awsEndpointsSecurityGroupId', props.awsEndpointsSecurityGroupId, 'sg');
  c.awsId('s3PrefixListId', props.s3PrefixListId, 'pl');
  c.arn(
    'targetGroupArn',
    props.targetGroupArn,
    TARGET_GROUP_ARN,
    'must be a target group ARN (the targetGroupArn output of `ekslink provision apply`)',
    '"arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/ekslink-prod/0123456789abcdef"',
  );
  if (!Array.isArray(props.eksApiHostnames) || props.eksApiHostnames.some((h) => Token.isUnresolved(h))) {
    c.fail(
      'eksApiHostnames',
      props.eksApiHostnames,
      'must be a list of literal hostnames',
      '["0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com"]',
    );
  }

  const resolverIp =
    props.dnsResolverIp !== undefined
      ? c.literal('dnsResolverIp', props.dnsResolverIp, '"10.0.0.2"')
      : ipv4At(vpcCidr, 2);

  const min = c.int('minCapacity', props.minCapacity ?? 2, 1, 100, 2);
  const max = c.int('maxCapacity', props.maxCapacity ?? 4, 1, 100, 4);
  const desired = c.int('desiredCapacity', props.desiredCapacity ?? min, 1, 100, 2);
  if (max <= min) {
    c.fail(
      'maxCapacity',
      max,
      `must be greater than minCapacity (${min}) so a rolling update can add an instance before removing one`,
      String(min + 2),
    );
  }
  if (desired < min || desired > max)
    c.fail(
      'desiredCapacity',
      desired,
      `must be from minCapacity (${min}) to maxCapacity (${max})`,
      String(min),
    );

  const healthPort = c.int('healthPort', props.healthPort ?? 8080, 1024, 65535, 8080);
  if (healthPort === PROXY_DATA_PORT)
    c.fail('healthPort', healthPort, 'must differ from the data port 443', '8080');
  const drainGraceSec = c.int('drainGraceSec', props.drainGraceSec ?? DEFAULT_DRAIN.graceSec, 0, 3600, 15);
  const drainDeadlineSec = c.int(
    'drainDeadlineSec',
    props.drainDeadlineSec ?? DEFAULT_DRAIN.deadlineSec,
    0,
    7000,
    300,
  );
  if (drainGraceSec + drainDeadlineSec + DRAIN_MARGIN_SEC > MAX_LIFECYCLE_HEARTBEAT_SEC) {
    c.fail(
      'drainDeadlineSec',
      drainDeadlineSec,
      `plus drainGraceSec (${drainGraceSec}) plus ${DRAIN_MARGIN_SEC}s must fit the ${MAX_LIFECYCLE_HEARTBEAT_SEC}s lifecycle hook limit`,
      '300',
    );
  }
  const image = validateFleetImage(c, props.amiId, props.amiKind);
  const retentionDays = props.logRetentionDays ?? 30;
  if (!isRetentionDays(retentionDays)) {
    c.fail(
      'logRetentionDays',
      retentionDays,
      'must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)',
      '30',
    );
  }
  const pairing = checkPairing(c, props.targetGroupSettings, props.proxyProtocolMode, healthPort, {
    graceSec: drainGraceSec,
    deadlineSec: drainDeadlineSec,
  });
  return {
    vpcCidr: vpcCidr.text,
    pairing,
    instanceType: c.armInstanceType('instanceType', props.instanceType ?? 't4g.small', '"t4g.small"'),
    resolverIp,
    min,
    desired,
    max,
    healthPort,
    drainGraceSec,
    drainDeadlineSec,
    healthGraceSec: c.int('healthCheckGracePeriodSec', props.healthCheckGracePeriodSec ?? 300, 0, 7200, 300),
    bootTimeoutSec: c.int('bootTimeoutSec', props.bootTimeoutSec ?? 900, 300, 3600, 900),
    cpuTarget: c.int('cpuTargetUtilizationPercent', props.cpuTargetUtilizationPercent ?? 50, 10, 90, 50),
    rootGib: c.int('rootVolumeSizeGib', props.rootVolumeSizeGib ?? 16, 8, 1024, 16),
    retention: retentionDays,
    amiId: image.amiId,
    amiKind: image.kind,
  };
}
