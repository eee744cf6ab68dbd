/**
 * The hardening both instance kinds share: Amazon Linux 2023 arm64 from the public SSM
 * parameter, IMDSv2 only with hop limit 1, no public IP, encrypted gp3 root volume,
 * detailed monitoring, no key pair, and a role with only SSM and CloudWatch agent access.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import {
  BlockDeviceVolume,
  EbsDeviceVolumeType,
  type InstanceType,
  LaunchTemplate,
  LaunchTemplateHttpTokens,
  MachineImage,
  type ISecurityGroup,
  type UserData,
} from 'aws-cdk-lib/aws-ec2';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledgeFinding } from './nag.js';

/** Public SSM parameter that always names the latest AL2023 arm64 AMI (resolved at deploy time). */
export const AL2023_ARM64_AMI_PARAMETER =
  '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64';
export const ROOT_DEVICE_NAME = '/dev/xvda';

/** The only managed policies an instance role carries. */
export const INSTANCE_MANAGED_POLICIES = [
  'AmazonSSMManagedInstanceCore',
  'CloudWatchAgentServerPolicy',
] as const;

export interface HardenedLaunchTemplateOptions {
  readonly instanceType: InstanceType;
  readonly securityGroup: ISecurityGroup;
  readonly role: Role;
  readonly userData: UserData;
  readonly rootVolumeSizeGib: number;
}

export function createHardenedLaunchTemplate(scope: Construct, id: string, o: HardenedLaunchTemplateOptions) {
  return new LaunchTemplate(scope, id, {
    machineImage: MachineImage.fromSsmParameter(AL2023_ARM64_AMI_PARAMETER),
    instanceType: o.instanceType,
    securityGroup: o.securityGroup,
    role: o.role,
    userData: o.userData,
    // IMDSv2 only; hop limit 1 keeps the credentials out of reach of anything forwarded or containerized.
    requireImdsv2: true,
    httpTokens: LaunchTemplateHttpTokens.REQUIRED,
    httpPutResponseHopLimit: 1,
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

/** Instance role: SSM (the only way in; no SSH, no key pair) and the CloudWatch agent, nothing else. */
export function createInstanceRole(scope: Construct, id: string, description: string): Role {
  const role = new Role(scope, id, {
    assumedBy: new ServicePrincipal('ec2.amazonaws.com'),
    description,
    managedPolicies: INSTANCE_MANAGED_POLICIES.map((name) => ManagedPolicy.fromAwsManagedPolicyName(name)),
  });
  const why = {
    AmazonSSMManagedInstanceCore:
      'AmazonSSMManagedInstanceCore is the AWS-maintained minimum for Session Manager, the only way in (no SSH, no key pair); a hand-copied policy would miss new SSM actions.',
    CloudWatchAgentServerPolicy:
      'CloudWatchAgentServerPolicy is the AWS-maintained minimum for the CloudWatch agent (metrics and the proxy log); a hand-copied policy would miss new agent actions.',
  } as const;
  for (const name of INSTANCE_MANAGED_POLICIES) {
    acknowledgeFinding(
      role,
      `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${name}]`,
      why[name],
    );
  }
  return role;
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
        namespace: 'ekslink',
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
