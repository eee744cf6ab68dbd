/**
 * The image a proxy fleet runs: always a pinned AMI id in the template, never "latest".
 * An `ekslink` image comes from the image pipeline (everything baked in): user data only
 * writes config and starts the unit. An `al2023` image is a stock Amazon Linux 2023 AMI:
 * user data first runs the same install script the pipeline bakes with (the instance kit,
 * shipped as an S3 asset), so both paths install exactly the same instance.
 * Changing `amiId` is a new launch template version, which the ASG's rolling update
 * replaces one instance at a time, each old one draining through the termination hook.
 */
import { Token } from 'aws-cdk-lib';
import { type IMachineImage, OperatingSystemType, UserData } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { INSTALL_SCRIPT, INSTALLED_SCRIPT, stageInstanceKit } from './instance-kit.js';
import type { PropChecker } from './validate.js';

export const AMI_KINDS = ['ekslink', 'al2023'] as const;
export type AmiKind = (typeof AMI_KINDS)[number];

const AMI_ID = /^ami-[0-9a-f]{8}([0-9a-f]{9})?$/;

/** What CDK returns for an SSM lookup whose value is not in the context yet (the CLI then looks it up). */
const LOOKUP_PLACEHOLDER = 'dummy-value-for-';

/**
 * The AMI id in the pipeline's SSM parameter, looked up at synth (`cdk synth` with
 * credentials) and recorded in cdk.context.json, so the template holds the literal id and
 * it changes only when that entry is reset (`cdk context --reset <key>`): a reviewed diff.
 */
export function lookUpAmiId(scope: Construct, parameterName: string): string {
  return StringParameter.valueFromLookup(scope, parameterName);
}

/** Check the pinned image props; an unset amiId fails synth (there is no "latest" default). */
export function validateFleetImage(
  c: PropChecker,
  amiId: string | undefined,
  kind: string | undefined,
): { amiId: string; kind: AmiKind } {
  const pending = typeof amiId === 'string' && amiId.startsWith(LOOKUP_PLACEHOLDER);
  if (typeof amiId !== 'string' || (!Token.isUnresolved(amiId) && !pending && !AMI_ID.test(amiId))) {
    c.fail(
      'amiId',
      amiId,
      'must pin an AMI id (or give amiParameterName): an ekslink image from the image pipeline (aws ssm get-parameter --name /ekslink/<deployment>/proxy-ami/arm64), or a stock AL2023 arm64 AMI with amiKind "al2023"',
      '"ami-0123456789abcdef0"',
    );
  }
  const k = kind ?? 'ekslink';
  if (!(AMI_KINDS as readonly string[]).includes(k)) {
    c.fail(
      'amiKind',
      kind,
      'must be "ekslink" (baked by the image pipeline) or "al2023" (stock image, installed at boot)',
      '"ekslink"',
    );
  }
  return { amiId, kind: k as AmiKind };
}

/** The pinned AMI as a machine image (the launch template records the literal id). */
export function pinnedMachineImage(amiId: string): IMachineImage {
  return {
    // The fleet passes its own user data to the launch template, which takes precedence.
    getImage: () => ({ imageId: amiId, osType: OperatingSystemType.LINUX, userData: UserData.forLinux() }),
  };
}

/** Stock image only: fetch the kit and bake this instance at boot, exactly as the pipeline does. */
export function bakeAtBootCommands(kit: { bucket: string; key: string }): string[] {
  return [
    `aws s3 cp "s3://${kit.bucket}/${kit.key}" /tmp/ekslink-kit.zip --region "$REGION" --only-show-errors`,
    'rm -rf /tmp/ekslink-kit && python3 -m zipfile -e /tmp/ekslink-kit.zip /tmp/ekslink-kit',
    `bash /tmp/ekslink-kit/${INSTALL_SCRIPT} bake`,
    'rm -rf /tmp/ekslink-kit /tmp/ekslink-kit.zip',
  ];
}

/** Every image: check the config user data wrote, start the proxy and the CloudWatch agent. */
export function startCommands(): string[] {
  return [`${INSTALLED_SCRIPT} start`];
}

/**
 * The fleet's image: the pinned AMI, and for a stock image the instance kit as an S3 asset
 * (the role may read exactly that object) for user data to bake at boot.
 */
export function fleetImage(
  scope: Construct,
  o: { amiId: string; kind: AmiKind; bundleDir: string; unitPath: string; role: Role },
): { machineImage: IMachineImage; bakeKit?: { bucket: string; key: string } } {
  const machineImage = pinnedMachineImage(o.amiId);
  if (o.kind === 'ekslink') return { machineImage };
  const kit = new Asset(scope, 'InstanceKit', {
    path: stageInstanceKit({ bundleDir: o.bundleDir, unitPath: o.unitPath }).dir,
  });
  o.role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [kit.bucket.arnForObjects(kit.s3ObjectKey)],
    }),
  );
  return { machineImage, bakeKit: { bucket: kit.s3BucketName, key: kit.s3ObjectKey } };
}
