/**
 * ProxyFleet's props, checked in the constructor before any resource exists, so `cdk synth`
 * fails with one precise message; and the defaults applied.
 */
import { Token } from 'aws-cdk-lib';
import type { InstanceType } from 'aws-cdk-lib/aws-ec2';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ipv4At } from '../../common/cidr.js';
import { DEFAULT_DRAIN, MAX_LIFECYCLE_HEARTBEAT_SEC } from '../../common/drain-timing.js';
import { type AmiKind, lookUpAmiId, validateFleetImage } from './fleet-image.js';
import { checkPairing, type Pairing } from './fleet-pairing.js';
import { isRetentionDays } from './hardened-instance.js';
import { DRAIN_MARGIN_SEC } from './lifecycle.js';
import { PROXY_DATA_PORT } from './proxy-config.js';
import type { ProxyFleetProps } from './proxy-fleet-props.js';
import { PropChecker } from './validate.js';

/** The props checked, with every default applied. */
export interface ResolvedFleetProps {
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

/** amiId, or the looked-up value of amiParameterName; never both. */
export function fleetAmiId(scope: Construct, where: string, props: ProxyFleetProps): string | undefined {
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

/** Checks every prop before any resource exists; the first problem throws, naming the prop. */
export function validateFleetProps(c: PropChecker, props: ProxyFleetProps): ResolvedFleetProps {
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
