/**
 * The real `cdk synth` CLI runs the app from cdk.json with the example config, offline:
 * no credentials, no IMDS, no lookups (`--no-lookups` fails synth if one were needed),
 * and the app's own cdk-nag plugin passes. A broken config fails with its message.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/lib/artifacts.js';

const CDK = join(REPO_ROOT, 'node_modules', '.bin', 'cdk');
const STACKS = [
  'ekslink-example-proxy-fleet',
  'ekslink-example-wireguard-peer',
  'ekslink-example-image-pipeline',
];

function cdkSynth(outdir: string, configPath: string) {
  const env: NodeJS.ProcessEnv = {
    PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
    HOME: outdir,
    // No credentials and no instance metadata: synth must not need AWS.
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(outdir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(outdir, 'no-aws-credentials'),
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
  return spawnSync(
    CDK,
    [
      'synth',
      '-c',
      `ekslink:config=${configPath}`,
      '-o',
      join(outdir, 'cdk.out'),
      '--no-lookups',
      '--no-notices',
      '--no-version-reporting',
      '-q',
    ],
    { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 150_000 },
  );
}

let dir: string;
let result: ReturnType<typeof spawnSync>;

beforeAll(() => {
  // GIVEN a scratch HOME and output dir WHEN the CLI synthesizes the example deployment
  dir = mkdtempSync(join(tmpdir(), 'ekslink-synth-'));
  result = cdkSynth(dir, 'infra/examples/topology1.json');
}, 160_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npx cdk synth', () => {
  it('succeeds offline and writes every template and the instance kit asset', () => {
    expect(result.status, String(result.stderr)).toBe(0);
    for (const stack of STACKS) {
      const template = JSON.parse(readFileSync(join(dir, 'cdk.out', `${stack}.template.json`), 'utf8'));
      expect(Object.keys(template.Resources).length).toBeGreaterThan(5);
    }
    // The instance kit (bundle inside) is the pipeline's asset; a baked fleet ships none.
    const assets = JSON.parse(readFileSync(join(dir, 'cdk.out', `${STACKS[2]}.assets.json`), 'utf8'));
    const bundle = Object.values(
      assets.files as Record<string, { source: { path: string; packaging: string } }>,
    ).find((f) => f.source.packaging === 'zip')!;
    expect(existsSync(join(dir, 'cdk.out', bundle.source.path, 'bundle', 'ekslink.mjs'))).toBe(true);
    expect(existsSync(join(dir, 'cdk.out', bundle.source.path, 'ekslink-install'))).toBe(true);
  });

  it('contains the image pipeline with its test component, and the fleet boots the pinned image', () => {
    const read = (stack: string) =>
      JSON.parse(readFileSync(join(dir, 'cdk.out', `${stack}.template.json`), 'utf8')) as {
        Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
        Parameters?: Record<string, { Type: string }>;
      };
    const pipeline = Object.values(read(STACKS[2]!).Resources);
    expect(pipeline.filter((r) => r.Type === 'AWS::ImageBuilder::ImagePipeline')).toHaveLength(2);
    const checks = pipeline.find(
      (r) => r.Type === 'AWS::ImageBuilder::Component' && String(r.Properties.Name).includes('proxy-checks'),
    )!;
    for (const step of ['UnitExposure', 'NoSshDaemon', 'Imdsv2Only', 'OnlyProxyListens'])
      expect(String(checks.Properties.Data)).toContain(`name: ${step}`);
    const fleet = read(STACKS[0]!);
    const lt = Object.values(fleet.Resources).find((r) => r.Type === 'AWS::EC2::LaunchTemplate')!;
    const example = JSON.parse(readFileSync(join(REPO_ROOT, 'infra/examples/topology1.json'), 'utf8'));
    expect((lt.Properties.LaunchTemplateData as { ImageId: unknown }).ImageId).toBe(example.proxyFleet.amiId);
    expect(Object.values(fleet.Parameters ?? {}).map((p) => p.Type)).not.toContain(
      'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
    );
  });

  it('reports no cdk-nag finding and no warning', () => {
    expect(String(result.stderr)).not.toMatch(/AwsSolutions-|WARNING|ERROR/);
  });

  it('fails with the prop, the value and the fix when the config is wrong', () => {
    // GIVEN the example config with 0.0.0.0/0 as a GCP egress CIDR
    const config = JSON.parse(readFileSync(join(REPO_ROOT, 'infra', 'examples', 'topology1.json'), 'utf8'));
    config.wireGuardPeer.gcpEgressCidrs = ['0.0.0.0/0'];
    config.wireGuardPeer.wireGuardConfigFile = join(REPO_ROOT, 'infra/examples/wireguard/aws/ekslink0.conf');
    config.wireGuardPeer.nftablesFile = join(REPO_ROOT, 'infra/examples/wireguard/aws/ekslink0.nft');
    config.provisionOutputsFile = join(REPO_ROOT, 'infra/examples/provision-outputs.json');
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify(config));
    // WHEN synthesized THEN the CLI fails and prints the construct's message
    const bad = cdkSynth(join(dir, 'bad'), path);
    expect(bad.status).not.toBe(0);
    expect(String(bad.stderr)).toContain(
      "error EKL_INFRA_PROPS_INVALID: WireGuardPeer 'ekslink-example-wireguard-peer/Peer': props.gcpEgressCidrs[0] is wider than /16",
    );
  }, 160_000);

  it('refuses a fleet that pins no image as a config error: the app exits 2, naming the key and the fix', () => {
    // GIVEN the example fleet without amiId (and without amiParameterName)
    const config = JSON.parse(readFileSync(join(REPO_ROOT, 'infra', 'examples', 'topology1.json'), 'utf8'));
    delete config.proxyFleet.amiId;
    config.wireGuardPeer = undefined;
    config.provisionOutputsFile = join(REPO_ROOT, 'infra/examples/provision-outputs.json');
    const path = join(dir, 'no-image.json');
    writeFileSync(path, JSON.stringify(config));
    // WHEN synthesized THEN nothing falls back to "latest": the app stops before any stack
    const bad = cdkSynth(join(dir, 'no-image'), path);
    expect(bad.status).not.toBe(0);
    const stderr = String(bad.stderr);
    expect(stderr).toContain('error EKL_INFRA_APP_CONFIG_INVALID: proxyFleet.amiId is not set (got nothing)');
    expect(stderr).toContain('set proxyFleet.amiId to the id it wrote');
    expect(stderr).toContain('Subprocess exited with error 2');
    expect(existsSync(join(dir, 'no-image', 'cdk.out', 'ekslink-example-image-pipeline.template.json'))).toBe(
      false,
    );
  }, 160_000);
});
