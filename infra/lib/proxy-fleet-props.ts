/** The props of ProxyFleet (infra/lib/proxy-fleet.ts): what the fleet is built from. */
import type { AmiKind } from './fleet-image.js';
import type { TargetGroupSettings } from './fleet-pairing.js';

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
