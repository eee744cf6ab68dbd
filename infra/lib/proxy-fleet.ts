/**
 * ProxyFleet: the Auto Scaling Group of ekslink proxies in the customer's data-plane VPC,
 * behind the internal NLB target group that `ekslink provision apply` created. Its props are
 * in proxy-fleet-props.ts, checked by proxy-fleet-validate.ts; its security group is
 * proxy-fleet-security-group.ts, its alarms fleet-alarms.ts.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import {
  AdditionalHealthCheckType,
  AutoScalingGroup,
  HealthChecks,
  Signals,
  UpdatePolicy,
} from 'aws-cdk-lib/aws-autoscaling';
import { type SecurityGroup, UserData } from 'aws-cdk-lib/aws-ec2';
import { NetworkTargetGroup } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { acknowledgeFinding } from './nag.js';
import { DEFAULT_BUNDLE_DIR, DEFAULT_SYSTEMD_UNIT_PATH, readProxyUnit, requireBundle } from './artifacts.js';
import { createHardenedLaunchTemplate, createLogGroup, importVpcSubnets } from './hardened-instance.js';
import { renderProxyConfigFile, renderProxyConfigInput } from './proxy-config.js';
import { proxyUserData, PROXY_LOG } from './proxy-user-data.js';
import { createInstanceRole } from './instance-role.js';
import { addDrainHook, DRAIN_MARGIN_SEC, drainHookTiming } from './lifecycle.js';
import { fleetImage } from './fleet-image.js';
import { FleetAlarms } from './fleet-alarms.js';
import { fleetAgentConfig, prometheusScrapeConfig } from './fleet-metrics.js';
import { BOOTSTRAP_LOG } from './user-data-common.js';
import { PropChecker } from './validate.js';
import type { ProxyFleetProps } from './proxy-fleet-props.js';
import { fleetAmiId, validateFleetProps } from './proxy-fleet-validate.js';
import { createFleetSecurityGroup } from './proxy-fleet-security-group.js';

export { DRAIN_MARGIN_SEC };
export type { ProxyFleetProps };

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
    const r = validateFleetProps(new PropChecker(where), { ...props, amiId: fleetAmiId(this, where, props) });
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
    this.securityGroup = createFleetSecurityGroup(this, vpc, props, r);

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
}
