/**
 * ProxyImagePipeline on a template synthesized once: one pipeline per architecture on the
 * AL2023 base, the build component bakes with the instance kit the role may read, the test
 * component asks the security checks, test runs and scanning are on, and each AMI is tagged
 * with the version and bundle hash and written to the pipeline's own SSM parameter.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BUNDLE_DIR, DEFAULT_SYSTEMD_UNIT_PATH } from '../../infra/lib/artifacts.js';
import { MAX_UNIT_EXPOSURE, TEST_PHASE_SNI } from '../../infra/lib/image-components.js';
import { ProxyImagePipelineStack } from '../../infra/lib/image-pipeline-stack.js';
import type { ProxyImagePipelineProps } from '../../infra/lib/image-pipeline.js';
import { bundleSha256, ekslinkVersion } from '../../infra/lib/instance-kit.js';
import { parseProxyConfig } from '../../proxy/config/schema.js';
import { inlineStatements, onlyResource, resourcesOfType, rulesOf, rules } from './helpers.js';

type Json = Record<string, unknown>;

function pipelineProps(overrides: Partial<ProxyImagePipelineProps> = {}): ProxyImagePipelineProps {
  return {
    deploymentName: 'test',
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    vpcCidr: '10.0.0.0/16',
    subnetIds: ['subnet-0a1b2c3d4e5f60711'],
    availabilityZones: ['us-east-1a'],
    awsEndpointsSecurityGroupId: 'sg-0e1a2b3c4d5e6f709',
    s3PrefixListId: 'pl-63a5400a',
    ...overrides,
  };
}

let template: Template;
const props = (type: string) => resourcesOfType(template, type).map(([, r]) => r.Properties as Json);
/** A component's document, with the kit's S3 location as a placeholder. */
function componentDoc(name: string): { text: string; doc: Json } {
  const found = props('AWS::ImageBuilder::Component').filter((c) => String(c.Name).includes(name));
  expect(found).toHaveLength(1);
  const data = found[0]!.Data as string | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof data === 'string'
      ? data
      : data['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : '${BUCKET}')).join('');
  return { text, doc: parseYaml(text) as Json };
}
function steps(doc: Json, phase: string): { name: string; action: string; inputs: Json }[] {
  return ((doc.phases as Json[]).find((p) => p.name === phase)!.steps as never[]) ?? [];
}

beforeAll(() => {
  // GIVEN the pipeline stack with its defaults
  template = Template.fromStack(new ProxyImagePipelineStack(new App(), 'Pipe', pipelineProps()));
});

describe('pipelines and recipes', () => {
  it('builds AL2023 for arm64 and x86_64, with test runs and Inspector scanning on', () => {
    const recipes = props('AWS::ImageBuilder::ImageRecipe');
    expect(recipes.map((r) => r.ParentImage).sort()).toEqual([
      'ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
      'ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
    ]);
    const pipelines = props('AWS::ImageBuilder::ImagePipeline');
    expect(pipelines).toHaveLength(2);
    for (const p of pipelines) {
      expect(p.ImageTestsConfiguration).toEqual({ ImageTestsEnabled: true, TimeoutMinutes: 60 });
      expect(p.ImageScanningConfiguration).toEqual({ ImageScanningEnabled: true });
      expect(p.Schedule).toBeUndefined();
    }
  });

  it('gives every recipe the OS updates, the install component and the test component, on an encrypted root', () => {
    const ids = resourcesOfType(template, 'AWS::ImageBuilder::Component').map(([id]) => id);
    for (const r of props('AWS::ImageBuilder::ImageRecipe')) {
      const arns = (r.Components as { ComponentArn: unknown }[]).map((c) => JSON.stringify(c.ComponentArn));
      expect(arns[0]).toContain(':aws:component/update-linux/x.x.x');
      expect(arns.slice(1).sort()).toEqual(
        ids.map((id) => JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] })).sort(),
      );
      expect((r.BlockDeviceMappings as Json[])[0]).toMatchObject({
        Ebs: { Encrypted: true, VolumeType: 'gp3' },
      });
      expect(r.Version).toBe(ekslinkVersion());
    }
  });

  it('runs build and test instances IMDSv2-only in the given subnet, terminated on failure', () => {
    for (const i of props('AWS::ImageBuilder::InfrastructureConfiguration')) {
      expect(i).toMatchObject({
        SubnetId: 'subnet-0a1b2c3d4e5f60711',
        TerminateInstanceOnFailure: true,
        InstanceMetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
      });
      expect(i.KeyPair).toBeUndefined();
    }
    expect(props('AWS::ImageBuilder::InfrastructureConfiguration').map((i) => i.InstanceTypes)).toEqual([
      ['t4g.medium'],
      ['t3.medium'],
    ]);
  });

  it('gives the build instances no ingress and egress only to the endpoints, S3 and DNS', () => {
    const [sg] = onlyResource(template, 'AWS::EC2::SecurityGroup');
    expect(rulesOf(template, sg)).toEqual(
      rules([
        { direction: 'egress', protocol: 'tcp', fromPort: 443, toPort: 443, peer: 'sg-0e1a2b3c4d5e6f709' },
        { direction: 'egress', protocol: 'tcp', fromPort: 443, toPort: 443, peer: 'pl-63a5400a' },
        { direction: 'egress', protocol: 'udp', fromPort: 53, toPort: 53, peer: '10.0.0.2/32' },
        { direction: 'egress', protocol: 'tcp', fromPort: 53, toPort: 53, peer: '10.0.0.2/32' },
      ]),
    );
  });
});

describe('components', () => {
  it('bakes with ekslink-install from the kit object the instance role may read, and validates the stamp', () => {
    const { text, doc } = componentDoc('proxy-install');
    const [download, bakeStep] = steps(doc, 'build');
    expect(download!.action).toBe('S3Download');
    const source = (download!.inputs as unknown as { source: string }[])[0]!.source;
    const key = /\/([0-9a-f]{64}\.zip)$/.exec(source)![1]!;
    const get = inlineStatements(template).find((s) => s.Action === 's3:GetObject')!;
    expect(get.Resource).toMatch(new RegExp(`/${key}$`));
    expect((bakeStep!.inputs as { commands: string[] }).commands).toContain(
      'bash /tmp/ekslink-kit/ekslink-install bake --node-package nodejs24',
    );
    expect(text).toContain(
      `/usr/local/sbin/ekslink-image-checks release ${ekslinkVersion()} ${bundleSha256(DEFAULT_BUNDLE_DIR)}`,
    );
    expect(text).toMatch(/^schemaVersion: 1\.0$/m);
  });

  it('tests exposure, sshd, IMDSv2 and listeners on the new image, with a proxy config the proxy accepts', () => {
    const { doc } = componentDoc('proxy-checks');
    const test = steps(doc, 'test');
    const commands = Object.fromEntries(
      test.map((s) => [s.name, (s.inputs as { commands: string[] }).commands]),
    );
    expect(Object.keys(commands)).toEqual([
      'ImageRelease',
      'UnitExposure',
      'NoSshDaemon',
      'Imdsv2Only',
      'StartProxy',
      'OnlyProxyListens',
      'StopProxy',
    ]);
    expect(commands.UnitExposure).toEqual([
      `/usr/local/sbin/ekslink-image-checks exposure ${MAX_UNIT_EXPOSURE.toFixed(1)}`,
    ]);
    expect(commands.OnlyProxyListens).toEqual(['/usr/local/sbin/ekslink-image-checks listeners 443,8080']);
    const heredoc = commands.StartProxy![0]!;
    const config = parseProxyConfig(
      parseYaml(heredoc.slice(heredoc.indexOf('\n') + 1, heredoc.lastIndexOf('\n'))),
    );
    expect(config.listen.port).toBe(443);
    expect(config.health.port).toBe(8080);
    // One route under .invalid (RFC 6761): the test instance's proxy starts but resolves nothing.
    expect(config.routes.map((r) => r.sni)).toEqual([TEST_PHASE_SNI]);
    expect(TEST_PHASE_SNI).toMatch(/\.invalid$/);
  });

  it('renames the components when their content changes (Image Builder versions are immutable)', () => {
    const names = (t: Template) =>
      resourcesOfType(t, 'AWS::ImageBuilder::Component')
        .map(([, r]) => String((r.Properties as Json).Name))
        .sort();
    const same = Template.fromStack(new ProxyImagePipelineStack(new App(), 'Pipe', pipelineProps()));
    expect(names(same)).toEqual(names(template));
    for (const n of names(template)) expect(n).toMatch(/^ekslink-test-proxy-(install|checks)-[0-9a-f]{10}$/);
    // GIVEN a unit with one comment more WHEN synthesized THEN the kit, so the names, change
    const dir = mkdtempSync(join(tmpdir(), 'ekslink-unit-'));
    try {
      const unit = join(dir, 'ekslink-proxy.service');
      writeFileSync(unit, `${readFileSync(DEFAULT_SYSTEMD_UNIT_PATH, 'utf8')}# changed\n`);
      const changed = Template.fromStack(
        new ProxyImagePipelineStack(new App(), 'Pipe', pipelineProps({ systemdUnitPath: unit })),
      );
      const [a, b] = [names(changed), names(template)];
      expect(a[0]).not.toBe(b[0]);
      expect(a[1]).not.toBe(b[1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('distribution', () => {
  it('names and tags each AMI with the version and bundle hash and writes its id to its own SSM parameter', () => {
    const sha = bundleSha256(DEFAULT_BUNDLE_DIR);
    const v = ekslinkVersion();
    const dists = props('AWS::ImageBuilder::DistributionConfiguration').map(
      (d) => (d.Distributions as Json[])[0] as Json,
    );
    expect(dists.map((d) => d.SsmParameterConfigurations)).toEqual([
      [{ ParameterName: '/ekslink/test/proxy-ami/arm64', DataType: 'aws:ec2:image' }],
      [{ ParameterName: '/ekslink/test/proxy-ami/x86_64', DataType: 'aws:ec2:image' }],
    ]);
    for (const [i, arch] of ['arm64', 'x86_64'].entries()) {
      expect(dists[i]!.AmiDistributionConfiguration).toMatchObject({
        Name: `ekslink-proxy-${v}-${arch}-{{ imagebuilder:buildDate }}`,
        AmiTags: { 'ekslink:version': v, 'ekslink:bundle-sha256': sha, 'ekslink:architecture': arch },
      });
    }
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual(['AmiParameterArm64', 'AmiParameterX8664']);
  });

  it('builds only the architectures asked for, on a schedule when given', () => {
    const t = Template.fromStack(
      new ProxyImagePipelineStack(
        new App(),
        'Arm',
        pipelineProps({ architectures: ['arm64'], scheduleExpression: 'cron(0 3 ? * MON *)' }),
      ),
    );
    const [, p] = onlyResource(t, 'AWS::ImageBuilder::ImagePipeline');
    expect((p.Properties as Json).Schedule).toEqual({
      ScheduleExpression: 'cron(0 3 ? * MON *)',
      PipelineExecutionStartCondition: 'EXPRESSION_MATCH_AND_DEPENDENCY_UPDATES_AVAILABLE',
    });
  });

  it('pins Node 24 to an exact AL2023 build when asked, and refuses another package', () => {
    const t = Template.fromStack(
      new ProxyImagePipelineStack(new App(), 'Node', pipelineProps({ nodePackage: 'nodejs24-24.11.1' })),
    );
    expect(JSON.stringify(t.toJSON())).toContain('ekslink-install bake --node-package nodejs24-24.11.1');
    expect(
      () => new ProxyImagePipelineStack(new App(), 'Bad', pipelineProps({ nodePackage: 'nodejs22' })),
    ).toThrow(/props\.nodePackage must be nodejs24, optionally with its version \(got "nodejs22"\)/);
  });

  it('refuses an unknown architecture with the prop, the value and an example', () => {
    expect(
      () =>
        new ProxyImagePipelineStack(
          new App(),
          'Bad',
          pipelineProps({ architectures: ['riscv64' as 'arm64'] }),
        ),
    ).toThrow(
      /props\.architectures must name one or both of "arm64" and "x86_64" \(got \["riscv64"\]\); e\.g\./,
    );
  });
});
