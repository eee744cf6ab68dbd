/** The props of ProxyImagePipeline (infra/lib/image-pipeline.ts) and the architectures it builds for. */

export const IMAGE_ARCHITECTURES = ['arm64', 'x86_64'] as const;
export type ImageArchitecture = (typeof IMAGE_ARCHITECTURES)[number];

export interface ProxyImagePipelineProps {
  /** The ekslink deployment: names the resources and the SSM parameters. */
  readonly deploymentName: string;
  /** VPC the build and test instances run in (private subnets are enough). */
  readonly vpcId: string;
  /** Its primary IPv4 CIDR (the VPC resolver is its base address + 2). */
  readonly vpcCidr: string;
  /** Subnet of the build and test instances (the first is used), and its Availability Zone. */
  readonly subnetIds: string[];
  /** The Availability Zone of each subnet, in the same order. */
  readonly availabilityZones: string[];
  /**
   * Security group of the VPC's interface endpoints the build instance uses (ssm,
   * ssmmessages, ec2messages, imagebuilder, logs); gets the matching ingress rule.
   */
  readonly awsEndpointsSecurityGroupId: string;
  /** The S3 gateway endpoint's prefix list: the kit, AWSTOE and AL2023 packages. */
  readonly s3PrefixListId: string;
  /**
   * Architectures to build.
   * @default ['arm64', 'x86_64']
   */
  readonly architectures?: ImageArchitecture[];
  /**
   * Rebuild on this schedule (only when the base image or a component changed).
   * @default - no schedule: run `aws imagebuilder start-image-pipeline-execution`
   */
  readonly scheduleExpression?: string;
  /**
   * Scan each image with Amazon Inspector (Inspector must be activated in the account).
   * @default true
   */
  readonly imageScanning?: boolean;
  /**
   * The AL2023 Node.js package, to pin Node 24 to an exact build (`dnf list --showduplicates nodejs24`).
   * @default 'nodejs24' - the build in the base image's AL2023 release (its repositories are versioned)
   */
  readonly nodePackage?: string;
  /**
   * Directory of the proxy bundle baked into the image.
   * @default - the repository's dist/ (built by `npm run build`)
   */
  readonly bundleDir?: string;
  /**
   * The hardened systemd unit baked into the image.
   * @default - packaging/systemd/ekslink-proxy.service
   */
  readonly systemdUnitPath?: string;
}
