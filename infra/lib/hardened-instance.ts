/**
 * The hardening both instance kinds share: Amazon Linux 2023 arm64 from the public SSM
 * parameter, IMDSv2 only with hop limit 1, no public IP, encrypted gp3 root volume,
 * detailed monitoring, no key pair, instance tags readable from IMDS (the on-instance
 * watchers read their Auto Scaling group's name there). The role is in instance-role.ts.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import {
  BlockDeviceVolume,
  EbsDeviceVolumeType,
  type IMachineImage,
  type InstanceType,
  type ISecurityGroup,
  type ISubnet,
  type IVpc,
  LaunchTemplate,
  LaunchTemplateHttpTokens,
  MachineImage,
  Peer,
  Port,
  SecurityGroup,
  Subnet,
  type UserData,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import type { Role } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledgeFinding } from './nag.js';

/** Public SSM parameter that always names the latest AL2023 arm64 AMI (resolved at deploy time). */
export const AL2023_ARM64_AMI_PARAMETER =
  '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64';
export const ROOT_DEVICE_NAME = '/dev/xvda';

/** CloudWatch namespace of the agent's metrics: the only one the instance roles may write to. */
export const AGENT_METRICS_NAMESPACE = 'ekslink';

export interface HardenedLaunchTemplateOptions {
  readonly instanceType: InstanceType;
  readonly securityGroup: ISecurityGroup;
  readonly role: Role;
  readonly userData: UserData;
  readonly rootVolumeSizeGib: number;
  /**
   * A pinned image (the proxy fleet: infra/lib/fleet-image.ts).
   * @default - the latest AL2023 arm64 AMI from the public SSM parameter, resolved at deploy
   */
  readonly machineImage?: IMachineImage;
}

export function createHardenedLaunchTemplate(scope: Construct, id: string, o: HardenedLaunchTemplateOptions) {
  return new LaunchTemplate(scope, id, {
    machineImage: o.machineImage ?? MachineImage.fromSsmParameter(AL2023_ARM64_AMI_PARAMETER),
    instanceType: o.instanceType,
    securityGroup: o.securityGroup,
    role: o.role,
    userData: o.userData,
    // IMDSv2 only; hop limit 1 keeps the credentials out of reach of anything forwarded or containerized.
    requireImdsv2: true,
    httpTokens: LaunchTemplateHttpTokens.REQUIRED,
    httpPutResponseHopLimit: 1,
    // Tags in IMDS: the lifecycle and tunnel watchers read aws:autoscaling:groupName there
    // (no autoscaling:Describe* on *), and so does the CloudWatch agent for its dimension.
    instanceMetadataTags: true,
    associatePublicIpAddress: false,
    detailedMonitoring: true,
    blockDevices: [
      {
        deviceName: ROOT_DEVICE_NAME,
        volume: BlockDeviceVolume.ebs(o.rootVolumeSizeGib, {
          volumeType: EbsDeviceVolumeType.GP3,
          encrypted: true,
          deleteOnTermination: true,
        }),
      },
    ],
  });
}

const RETENTION_VALUES = new Set<number>(
  Object.values(RetentionDays).filter((v): v is number => typeof v === 'number'),
);

export function isRetentionDays(value: number): value is RetentionDays {
  return RETENTION_VALUES.has(value) && value !== RetentionDays.INFINITE;
}

export function createLogGroup(scope: Construct, id: string, retention: RetentionDays): LogGroup {
  return new LogGroup(scope, id, { retention, removalPolicy: RemovalPolicy.DESTROY });
}

/** A log file the CloudWatch agent ships, and the stream it lands in. */
export interface ShippedLogFile {
  readonly path: string;
  readonly streamSuffix: string;
}

/** CloudWatch agent config: memory and disk metrics per ASG, and the given log files. */
export function cloudWatchAgentConfig(logGroupName: string, files: readonly ShippedLogFile[]): string {
  return JSON.stringify(
    {
      agent: { metrics_collection_interval: 60, run_as_user: 'root' },
      metrics: {
        namespace: AGENT_METRICS_NAMESPACE,
        append_dimensions: {
          AutoScalingGroupName: '${aws:AutoScalingGroupName}',
          InstanceId: '${aws:InstanceId}',
        },
        aggregation_dimensions: [['AutoScalingGroupName']],
        metrics_collected: {
          mem: { measurement: ['mem_used_percent'] },
          disk: { measurement: ['used_percent'], resources: ['/'] },
        },
      },
      logs: {
        logs_collected: {
          files: {
            collect_list: files.map((f) => ({
              file_path: f.path,
              log_group_name: logGroupName,
              log_stream_name: `{instance_id}/${f.streamSuffix}`,
              retention_in_days: -1,
            })),
          },
        },
      },
    },
    null,
    2,
  );
}

/** The VPC and subnets an instance group launches in, imported by ID (no lookups: synth stays offline). */
export interface ImportedSubnetsOptions {
  readonly vpcId: string;
  readonly vpcCidr: string;
  readonly subnetIds: readonly string[];
  /** The Availability Zone of each subnet, in the same order. */
  readonly availabilityZones: readonly string[];
  readonly subnetKind: 'private' | 'public';
}

export function importVpcSubnets(
  scope: Construct,
  o: ImportedSubnetsOptions,
): { vpc: IVpc; subnets: ISubnet[] } {
  const vpc = Vpc.fromVpcAttributes(scope, 'Vpc', {
    vpcId: o.vpcId,
    vpcCidrBlock: o.vpcCidr,
    availabilityZones: [...o.availabilityZones],
    ...(o.subnetKind === 'private'
      ? { privateSubnetIds: [...o.subnetIds] }
      : { publicSubnetIds: [...o.subnetIds] }),
  });
  const subnets = o.subnetIds.map((subnetId, i) =>
    Subnet.fromSubnetAttributes(scope, `Subnet${i}`, {
      subnetId,
      availabilityZone: o.availabilityZones[i] as string,
    }),
  );
  acknowledgeFinding(
    scope,
    'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
    'The imported subnets only fill the ASG VPCZoneIdentifier; nothing here reads their route tables, so no route table ID is needed.',
  );
  return { vpc, subnets };
}

/** An existing security group this stack adds ingress rules to (never egress: allowAllOutbound false). */
export function importSecurityGroup(scope: Construct, id: string, securityGroupId: string): ISecurityGroup {
  return SecurityGroup.fromSecurityGroupId(scope, id, securityGroupId, {
    mutable: true,
    allowAllOutbound: false,
  });
}

export interface BaseEgressOptions {
  /** The VPC resolver (base of the VPC CIDR + 2) or the configured DNS server. */
  readonly resolverIp: string;
  /** Security group of the VPC's interface endpoints (SSM, logs, ...); gets the matching ingress rule. */
  readonly awsEndpointsSecurityGroupId: string;
  /** The S3 gateway endpoint's managed prefix list. */
  readonly s3PrefixListId: string;
  readonly descriptions: {
    readonly awsEndpointsEgress: string;
    readonly awsEndpointsIngress: string;
    readonly s3Egress: string;
  };
}

/**
 * The egress both instance kinds need besides their own traffic: DNS to the resolver only,
 * TCP 443 to the AWS interface endpoints (named by security group, which gets the matching
 * ingress) and to the S3 gateway endpoint's prefix list. Nothing to 0.0.0.0/0.
 */
export function allowBaseEgress(scope: Construct, sg: SecurityGroup, o: BaseEgressOptions): void {
  const resolver = Peer.ipv4(`${o.resolverIp}/32`);
  sg.addEgressRule(resolver, Port.udp(53), 'DNS to the VPC resolver');
  sg.addEgressRule(resolver, Port.tcp(53), 'DNS over TCP to the VPC resolver');
  const endpoints = importSecurityGroup(scope, 'AwsEndpointsSecurityGroup', o.awsEndpointsSecurityGroupId);
  sg.addEgressRule(endpoints, Port.tcp(443), o.descriptions.awsEndpointsEgress);
  endpoints.addIngressRule(sg, Port.tcp(443), o.descriptions.awsEndpointsIngress);
  sg.addEgressRule(Peer.prefixList(o.s3PrefixListId), Port.tcp(443), o.descriptions.s3Egress);
}
