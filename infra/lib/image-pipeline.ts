/**
 * ProxyImagePipeline: EC2 Image Builder (L1 constructs) building the ekslink proxy AMI on
 * Amazon Linux 2023, for arm64 (the default t4g fleet) and x86_64. Each build runs the
 * instance kit's `ekslink-install bake`, then the test component on an instance launched
 * from the new AMI; an image that fails a test is never distributed. A distributed AMI is
 * named and tagged with the ekslink version and the bundle hash, and its id is written to
 * this pipeline's own SSM parameter (/ekslink/<deployment>/proxy-ami/<arch>), which the
 * fleet config then pins: promoting an image is an explicit, reviewed change of amiId.
 *
 * Why Image Builder rather than Packer: it runs inside the customer's account and VPC
 * with no build host and no outbound internet (S3 and interface endpoints suffice), it
 * is driven by the same `cdk deploy` as the fleet, and it scans the image with Amazon
 * Inspector and keeps each build's version history.
 */
import { createHash } from 'node:crypto';
import { Stack } from 'aws-cdk-lib';
import { SecurityGroup } from 'aws-cdk-lib/aws-ec2';
import {
  CfnInstanceProfile,
  ManagedPolicy,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import {
  CfnComponent,
  CfnDistributionConfiguration,
  CfnImagePipeline,
  CfnImageRecipe,
  CfnInfrastructureConfiguration,
} from 'aws-cdk-lib/aws-imagebuilder';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { ipv4At } from '../../common/cidr.js';
import { DEFAULT_BUNDLE_DIR, DEFAULT_SYSTEMD_UNIT_PATH, readProxyUnit } from './artifacts.js';
import { allowBaseEgress, importVpcSubnets, ROOT_DEVICE_NAME } from './hardened-instance.js';
import { buildComponentDocument, testComponentDocument } from './image-components.js';
import { stageInstanceKit } from './instance-kit.js';
import { acknowledgeFinding } from './nag.js';
import { PropChecker } from './validate.js';
import {
  IMAGE_ARCHITECTURES,
  type ImageArchitecture,
  type ProxyImagePipelineProps,
} from './image-pipeline-props.js';

export { IMAGE_ARCHITECTURES, type ImageArchitecture, type ProxyImagePipelineProps };

/** The build and test instance type per architecture. */
const BUILD_INSTANCE_TYPES: Record<ImageArchitecture, string> = { arm64: 't4g.medium', x86_64: 't3.medium' };

/** The SSM parameter the pipeline writes each distributed AMI id to. */
export function proxyAmiParameterName(deploymentName: string, arch: ImageArchitecture): string {
  return `/ekslink/${deploymentName}/proxy-ami/${arch}`;
}

/** One pipeline per architecture, with its recipe, infrastructure and distribution. */
export class ProxyImagePipeline extends Construct {
  public readonly pipelines: Partial<Record<ImageArchitecture, CfnImagePipeline>> = {};
  /** The SSM parameter per architecture that Image Builder writes the AMI id to. */
  public readonly amiParameterNames: Partial<Record<ImageArchitecture, string>> = {};
  public readonly version: string;
  public readonly bundleSha256: string;

  constructor(scope: Construct, id: string, props: ProxyImagePipelineProps) {
    super(scope, id);
    const c = new PropChecker(`ProxyImagePipeline '${this.node.path}'`);
    const dep = props.deploymentName;
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(dep))
      c.fail('deploymentName', dep, 'must be 1-32 of [a-z0-9-] starting with a letter', '"acme-prod"');
    c.awsId('vpcId', props.vpcId, 'vpc');
    const vpcCidr = c.vpcCidr('vpcCidr', props.vpcCidr);
    const subnetIds = c.awsIds('subnetIds', props.subnetIds, 'subnet', 1);
    c.zones('availabilityZones', props.availabilityZones, 'subnetIds', subnetIds, 1);
    c.awsId('awsEndpointsSecurityGroupId', props.awsEndpointsSecurityGroupId, 'sg');
    c.awsId('s3PrefixListId', props.s3PrefixListId, 'pl');
    const archs = props.architectures ?? [...IMAGE_ARCHITECTURES];
    if (archs.length === 0 || archs.some((a) => !(IMAGE_ARCHITECTURES as readonly string[]).includes(a))) {
      c.fail('architectures', archs, 'must name one or both of "arm64" and "x86_64"', '["arm64"]');
    }
    const nodePackage = props.nodePackage ?? 'nodejs24';
    if (!/^nodejs24(-[0-9][0-9A-Za-z.:_+~-]*)?$/.test(nodePackage)) {
      c.fail(
        'nodePackage',
        nodePackage,
        'must be nodejs24, optionally with its version',
        '"nodejs24-24.11.1"',
      );
    }
    const unitPath = props.systemdUnitPath ?? DEFAULT_SYSTEMD_UNIT_PATH;
    readProxyUnit(unitPath);
    const kit = stageInstanceKit({ bundleDir: props.bundleDir ?? DEFAULT_BUNDLE_DIR, unitPath });
    if (!/^\d+\.\d+\.\d+$/.test(kit.version)) {
      c.fail('package.json version', kit.version, 'must be x.y.z for an Image Builder version', '"0.1.0"');
    }
    this.version = kit.version;
    this.bundleSha256 = kit.bundleSha256;
    const stack = Stack.of(this);

    const { vpc, subnets } = importVpcSubnets(this, {
      vpcId: props.vpcId,
      vpcCidr: vpcCidr.text,
      subnetIds,
      availabilityZones: props.availabilityZones,
      subnetKind: 'private',
    });
    const sg = new SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'ekslink image builds: AWS APIs through the VPC endpoints and S3 only, no ingress',
      allowAllOutbound: false,
    });
    allowBaseEgress(this, sg, {
      resolverIp: ipv4At(vpcCidr, 2),
      awsEndpointsSecurityGroupId: props.awsEndpointsSecurityGroupId,
      s3PrefixListId: props.s3PrefixListId,
      descriptions: {
        awsEndpointsEgress: 'SSM and Image Builder through the VPC interface endpoints',
        awsEndpointsIngress: 'ekslink image builds to the AWS interface endpoints',
        s3Egress: 'S3 gateway endpoint: instance kit, AWSTOE, AL2023 packages',
      },
    });

    const kitAsset = new Asset(this, 'InstanceKit', { path: kit.dir });
    const role = new Role(this, 'InstanceRole', {
      assumedBy: new ServicePrincipal('ec2.amazonaws.com'),
      description:
        'ekslink image build and test instances: Image Builder agent, SSM, read of the instance kit',
      managedPolicies: ['EC2InstanceProfileForImageBuilder', 'AmazonSSMManagedInstanceCore'].map((n) =>
        ManagedPolicy.fromAwsManagedPolicyName(n),
      ),
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [kitAsset.bucket.arnForObjects(kitAsset.s3ObjectKey)],
      }),
    );
    acknowledgeFinding(
      role,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/EC2InstanceProfileForImageBuilder]',
      'EC2InstanceProfileForImageBuilder is the AWS-maintained minimum for the AWSTOE agent on build and test instances (component download, logs); a copy would miss what new Image Builder releases need.',
    );
    acknowledgeFinding(
      role,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      'Image Builder drives its build and test instances through SSM Run Command; AmazonSSMManagedInstanceCore is the AWS-maintained minimum for the SSM agent.',
    );
    const profile = new CfnInstanceProfile(this, 'InstanceProfile', { roles: [role.roleName] });

    const kitUri = `s3://${kitAsset.s3BucketName}/${kitAsset.s3ObjectKey}`;
    const docs = (uri: string) => ({
      build: buildComponentDocument({
        kitS3Uri: uri,
        version: kit.version,
        bundleSha256: kit.bundleSha256,
        nodePackage,
      }),
      test: testComponentDocument({ version: kit.version, bundleSha256: kit.bundleSha256 }),
    });
    // Image Builder versions are immutable: a content change needs new names (CloudFormation
    // creates the replacement before deleting the old one), so names carry a content hash.
    const plain = docs(`s3://asset/${kitAsset.assetHash}`);
    const hash = createHash('sha256').update(plain.build).update(plain.test).digest('hex').slice(0, 10);
    const rendered = docs(kitUri);
    const component = (cid: string, name: string, data: string, description: string) =>
      new CfnComponent(this, cid, {
        name: `ekslink-${dep}-${name}-${hash}`,
        version: kit.version,
        platform: 'Linux',
        supportedOsVersions: ['Amazon Linux 2023'],
        description,
        data,
      });
    const install = component(
      'InstallComponent',
      'proxy-install',
      rendered.build,
      'ekslink-install bake: Node 24, the bundle, the hardened unit, sysctls, CloudWatch agent, sshd masked',
    );
    const checks = component(
      'ChecksComponent',
      'proxy-checks',
      rendered.test,
      'Unit exposure, no SSH daemon, IMDSv2 only, nothing but the proxy listening',
    );
    const updateLinux = `arn:${stack.partition}:imagebuilder:${stack.region}:aws:component/update-linux/x.x.x`;

    for (const arch of archs) {
      const Arch = arch === 'arm64' ? 'Arm64' : 'X8664';
      const recipe = new CfnImageRecipe(this, `Recipe${Arch}`, {
        name: `ekslink-${dep}-proxy-${arch.replace('_', '-')}-${hash}`,
        version: kit.version,
        description: `ekslink ${kit.version} proxy on Amazon Linux 2023 ${arch}, bundle ${kit.bundleSha256}`,
        parentImage: `ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${arch}`,
        components: [
          { componentArn: updateLinux },
          { componentArn: install.attrArn },
          { componentArn: checks.attrArn },
        ],
        blockDeviceMappings: [
          {
            deviceName: ROOT_DEVICE_NAME,
            ebs: { encrypted: true, volumeSize: 8, volumeType: 'gp3', deleteOnTermination: true },
          },
        ],
        workingDirectory: '/tmp',
      });
      const infra = new CfnInfrastructureConfiguration(this, `Infrastructure${Arch}`, {
        name: `ekslink-${dep}-proxy-${arch.replace('_', '-')}`,
        description: 'ekslink image build and test instances: private subnet, IMDSv2 only, no key pair',
        instanceProfileName: profile.ref,
        instanceTypes: [BUILD_INSTANCE_TYPES[arch]],
        subnetId: subnets[0]!.subnetId,
        securityGroupIds: [sg.securityGroupId],
        terminateInstanceOnFailure: true,
        // The test instance runs IMDSv2-only, as the fleet does: the Imdsv2Only test depends on it.
        instanceMetadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1 },
      });
      const parameterName = proxyAmiParameterName(dep, arch);
      const distribution = new CfnDistributionConfiguration(this, `Distribution${Arch}`, {
        name: `ekslink-${dep}-proxy-${arch.replace('_', '-')}`,
        description: `ekslink proxy AMI for ${arch}; its id goes to ${parameterName}`,
        distributions: [
          {
            region: stack.region,
            // Typed as JSON in the L1: CloudFormation's own (PascalCase) keys.
            amiDistributionConfiguration: {
              Name: `ekslink-proxy-${kit.version}-${arch}-{{ imagebuilder:buildDate }}`,
              Description: `ekslink ${kit.version} proxy (bundle sha256 ${kit.bundleSha256})`,
              AmiTags: {
                'ekslink:version': kit.version,
                'ekslink:bundle-sha256': kit.bundleSha256,
                'ekslink:deployment': dep,
                'ekslink:architecture': arch,
              },
            },
            ssmParameterConfigurations: [{ parameterName, dataType: 'aws:ec2:image' }],
          },
        ],
      });
      this.pipelines[arch] = new CfnImagePipeline(this, `Pipeline${Arch}`, {
        name: `ekslink-${dep}-proxy-${arch.replace('_', '-')}`,
        description: `ekslink ${kit.version} proxy AMI, ${arch}: bake, test, distribute to ${parameterName}`,
        imageRecipeArn: recipe.attrArn,
        infrastructureConfigurationArn: infra.attrArn,
        distributionConfigurationArn: distribution.attrArn,
        imageTestsConfiguration: { imageTestsEnabled: true, timeoutMinutes: 60 },
        imageScanningConfiguration: { imageScanningEnabled: props.imageScanning ?? true },
        enhancedImageMetadataEnabled: true,
        status: 'ENABLED',
        ...(props.scheduleExpression !== undefined
          ? {
              schedule: {
                scheduleExpression: props.scheduleExpression,
                pipelineExecutionStartCondition: 'EXPRESSION_MATCH_AND_DEPENDENCY_UPDATES_AVAILABLE',
              },
            }
          : {}),
      });
      this.amiParameterNames[arch] = parameterName;
    }
  }
}
