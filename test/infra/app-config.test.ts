/**
 * The app's config file (context ekslink:config): shape errors name the key and the fix;
 * render files are read relative to the config file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../infra/lib/app-config.js';
import { InfraError } from '../../infra/lib/errors.js';
import { EXAMPLES } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ekslink-appcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, data: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof data === 'string' ? data : JSON.stringify(data));
  return path;
}

describe('loadAppConfig', () => {
  it('reads the example, splits env from props and loads the rendered WireGuard files', () => {
    // WHEN the example config is loaded
    const config = loadAppConfig(join(EXAMPLES, 'topology1.json'));
    // THEN each stack gets its env and props, and the peer gets the file contents
    expect(config.deploymentName).toBe('example');
    expect(config.proxyFleet?.env).toEqual({ account: '123456789012', region: 'us-east-1' });
    expect(config.proxyFleet?.props).not.toHaveProperty('region');
    expect(config.wireGuardPeer?.props.wireGuardConfig).toBe(
      readFileSync(join(EXAMPLES, 'wireguard/aws/ekslink0.conf'), 'utf8'),
    );
    expect(config.wireGuardPeer?.props.nftablesRules).toBe(
      readFileSync(join(EXAMPLES, 'wireguard/aws/ekslink0.nft'), 'utf8'),
    );
  });

  it('takes everything the provisioner created from the outputs file the example names', () => {
    const outputs = JSON.parse(readFileSync(join(EXAMPLES, 'provision-outputs.json'), 'utf8')).outputs;
    const config = loadAppConfig(join(EXAMPLES, 'topology1.json'));
    expect(config.proxyFleet?.props).toMatchObject({
      vpcId: outputs.providerVpcId,
      vpcCidr: outputs.providerVpcCidr,
      eksApiHostnames: outputs.eksHostnames,
      targetGroupArn: outputs.targetGroupArn,
      loadBalancerSecurityGroupId: outputs.loadBalancerSecurityGroupId,
      targetGroupSettings: outputs.targetGroup,
      proxyProtocolMode: 'required',
      allowedVpcEndpointIds: [outputs.vpcEndpointId],
      allowedUpstreamCidrs: outputs.upstreamCidrs,
      dnsResolverIp: outputs.dnsResolverIp,
      healthPort: outputs.targetGroup.healthCheckPort,
    });
    expect(config.wireGuardPeer?.props.vpcEndpointSecurityGroupId).toBe(outputs.vpcEndpointSecurityGroupId);
  });

  it('refuses a hand-written value that conflicts with the outputs file, naming both', () => {
    const example = JSON.parse(readFileSync(join(EXAMPLES, 'topology1.json'), 'utf8'));
    const outputsFile = join(EXAMPLES, 'provision-outputs.json');
    const outputs = JSON.parse(readFileSync(outputsFile, 'utf8')).outputs;
    const path = write('conflict.json', {
      ...example,
      provisionOutputsFile: outputsFile,
      wireGuardPeer: undefined,
      proxyFleet: {
        ...example.proxyFleet,
        // agrees: kept
        targetGroupArn: outputs.targetGroupArn,
        // narrower than the VPC: kept
        allowedUpstreamCidrs: ['10.10.1.0/24'],
        // conflicts
        proxyProtocolMode: 'off',
        allowedVpcEndpointIds: ['vpce-0123456789abcdef0'],
        dnsResolverIp: '10.99.0.2',
      },
    });
    let err: unknown;
    try {
      loadAppConfig(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InfraError);
    const message = (err as InfraError).message;
    expect(message).toContain("the infra config and the provisioner's outputs disagree (3 values)");
    expect(message).toContain(
      `proxyFleet.proxyProtocolMode is "off" but provisionOutputsFile ${outputsFile} has targetGroup.proxyProtocolV2 true`,
    );
    expect(message).toContain(
      `proxyFleet.allowedVpcEndpointIds is ["vpce-0123456789abcdef0"] but provisionOutputsFile ${outputsFile} has vpcEndpointId ["${outputs.vpcEndpointId}"] (leaves out the VPC endpoint the provisioner created`,
    );
    expect(message).toContain(
      `proxyFleet.dnsResolverIp is "10.99.0.2" but provisionOutputsFile ${outputsFile} has dnsResolverIp "10.10.0.2"`,
    );
    expect(message).toContain(
      'remove proxyFleet.dnsResolverIp from the infra config (the outputs file provides it)',
    );

    const narrowed = write('narrowed.json', {
      ...example,
      provisionOutputsFile: outputsFile,
      wireGuardPeer: undefined,
      proxyFleet: { ...example.proxyFleet, allowedUpstreamCidrs: ['10.10.1.0/24'] },
    });
    expect(loadAppConfig(narrowed).proxyFleet?.props.allowedUpstreamCidrs).toEqual(['10.10.1.0/24']);
    const wider = write('wider.json', {
      ...example,
      provisionOutputsFile: outputsFile,
      wireGuardPeer: undefined,
      proxyFleet: { ...example.proxyFleet, allowedUpstreamCidrs: ['10.0.0.0/8'] },
    });
    expect(() => loadAppConfig(wider)).toThrow(
      /reaches beyond the provider VPC \(10\.0\.0\.0\/8 is outside 10\.10\.0\.0\/16\)/,
    );
  });

  it("needs the outputs file or the values it provides, and refuses another deployment's file", () => {
    const example = JSON.parse(readFileSync(join(EXAMPLES, 'topology1.json'), 'utf8'));
    const outputsFile = join(EXAMPLES, 'provision-outputs.json');
    const none = write('none.json', { deploymentName: 'example', proxyFleet: example.proxyFleet });
    expect(() => loadAppConfig(none)).toThrow(
      'proxyFleet is missing vpcId, vpcCidr, eksApiHostnames, targetGroupArn, loadBalancerSecurityGroupId: set provisionOutputsFile',
    );
    const other = write('other.json', {
      deploymentName: 'other',
      provisionOutputsFile: outputsFile,
      proxyFleet: example.proxyFleet,
    });
    expect(() => loadAppConfig(other)).toThrow(
      `deploymentName is "other" but provisionOutputsFile ${outputsFile} is of deployment "example"`,
    );
    const old = write('old-outputs.json', { ...JSON.parse(readFileSync(outputsFile, 'utf8')), version: 1 });
    const withOld = write('with-old.json', {
      ...example,
      provisionOutputsFile: old,
      wireGuardPeer: undefined,
    });
    expect(() => loadAppConfig(withOld)).toThrow(
      /version: must be 2: this ekslink reads outputs files of version 2/,
    );
  });

  it('says how to pass the config when the context key is missing', () => {
    expect(() => loadAppConfig(undefined)).toThrow(
      'context ekslink:config is not set (got undefined); pass the infra config file, e.g. npx cdk synth -c ekslink:config=infra/examples/topology1.json',
    );
  });

  it('names every wrong key with what is allowed', () => {
    // GIVEN a fleet section with a typo'd key, a bad region and a string capacity
    const example = JSON.parse(readFileSync(join(EXAMPLES, 'topology1.json'), 'utf8'));
    const path = write('bad.json', {
      deploymentName: 'Prod_1',
      proxyFleet: { ...example.proxyFleet, region: 'useast1', minCapcity: 2, maxCapacity: '4' },
    });
    // WHEN loaded THEN one InfraError lists each problem
    let err: unknown;
    try {
      loadAppConfig(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InfraError);
    const message = (err as InfraError).message;
    expect((err as InfraError).code).toBe('EKL_INFRA_APP_CONFIG_INVALID');
    expect(message).toContain(
      'deploymentName: must be 1-32 of [a-z0-9-] starting with a letter, e.g. "acme-prod" (got "Prod_1")',
    );
    expect(message).toContain('proxyFleet.region: must be a region name, e.g. "us-east-1" (got "useast1")');
    expect(message).toContain(
      'proxyFleet: unknown key "minCapcity": check the spelling (keys are case-sensitive) or remove it',
    );
    expect(message).toMatch(/proxyFleet\.maxCapacity: .* \(got "4"\)/);
  });

  it('refuses a config with no stack', () => {
    expect(() => loadAppConfig(write('empty.json', { deploymentName: 'x' }))).toThrow(
      /give proxyFleet \(data-plane account\), wireGuardPeer \(proxy account\), imagePipeline \(data-plane account\), or several/,
    );
  });

  it("reads the image pipeline section, builds in the outputs file's provider VPC, and takes the fleet's pinned image", () => {
    const outputs = JSON.parse(readFileSync(join(EXAMPLES, 'provision-outputs.json'), 'utf8')).outputs;
    const config = loadAppConfig(join(EXAMPLES, 'topology1.json'));
    expect(config.imagePipeline?.env).toEqual({ account: '123456789012', region: 'us-east-1' });
    expect(config.imagePipeline?.props).toMatchObject({
      vpcId: outputs.providerVpcId,
      vpcCidr: outputs.providerVpcCidr,
      subnetIds: ['subnet-0a1b2c3d4e5f60711'],
    });
    expect(config.proxyFleet?.env).toEqual(config.imagePipeline?.env);
    expect(config.proxyFleet?.props.amiId).toMatch(/^ami-[0-9a-f]{17}$/);
  });

  it('builds the image in a separate VPC when the section names one, and only with both its keys', () => {
    const example = JSON.parse(readFileSync(join(EXAMPLES, 'topology1.json'), 'utf8'));
    const outputsFile = join(EXAMPLES, 'provision-outputs.json');
    const base = { ...example, provisionOutputsFile: outputsFile, wireGuardPeer: undefined };
    const own = write('build-vpc.json', {
      ...base,
      imagePipeline: { ...example.imagePipeline, vpcId: 'vpc-0b0b0b0b0b0b0b0b0', vpcCidr: '10.20.0.0/16' },
    });
    expect(loadAppConfig(own).imagePipeline?.props).toMatchObject({
      vpcId: 'vpc-0b0b0b0b0b0b0b0b0',
      vpcCidr: '10.20.0.0/16',
    });
    const half = write('half-vpc.json', {
      ...base,
      imagePipeline: { ...example.imagePipeline, vpcId: 'vpc-0b0b0b0b0b0b0b0b0' },
    });
    expect(() => loadAppConfig(half)).toThrow(
      'imagePipeline.vpcId is given without imagePipeline.vpcCidr: a separate build VPC needs both',
    );
    const alone = write('no-outputs.json', {
      deploymentName: 'example',
      imagePipeline: example.imagePipeline,
    });
    expect(() => loadAppConfig(alone)).toThrow(
      'imagePipeline.vpcId and imagePipeline.vpcCidr are missing: set provisionOutputsFile',
    );
  });

  it('takes the pinned image as an id or as the pipeline parameter to look up', () => {
    const example = JSON.parse(readFileSync(join(EXAMPLES, 'topology1.json'), 'utf8'));
    const { amiId: _, ...fleet } = example.proxyFleet;
    const config = loadAppConfig(
      write('param.json', {
        deploymentName: 'example',
        provisionOutputsFile: join(EXAMPLES, 'provision-outputs.json'),
        proxyFleet: { ...fleet, amiParameterName: '/ekslink/example/proxy-ami/arm64' },
      }),
    );
    expect(config.proxyFleet?.props.amiParameterName).toBe('/ekslink/example/proxy-ami/arm64');
    expect(config.proxyFleet?.props.amiId).toBeUndefined();
  });

  it('refuses a fleet that pins no image, or pins it twice, naming the key and the fix', () => {
    const example = JSON.parse(readFileSync(join(EXAMPLES, 'topology1.json'), 'utf8'));
    const { amiId, ...fleet } = example.proxyFleet;
    const config = (proxyFleet: unknown) =>
      write('image.json', {
        deploymentName: 'example',
        provisionOutputsFile: join(EXAMPLES, 'provision-outputs.json'),
        proxyFleet,
      });
    let err: unknown;
    try {
      loadAppConfig(config(fleet));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InfraError);
    expect((err as InfraError).code).toBe('EKL_INFRA_APP_CONFIG_INVALID');
    expect((err as InfraError).message).toContain(
      'proxyFleet.amiId is not set (got nothing): the fleet boots a pinned image, never "latest"',
    );
    expect((err as InfraError).message).toContain(
      'aws ssm get-parameter --name /ekslink/example/proxy-ami/arm64 --query Parameter.Value --output text',
    );
    expect((err as InfraError).message).toContain('e.g. "amiId": "ami-0123456789abcdef0"');
    expect(() =>
      loadAppConfig(config({ ...fleet, amiId, amiParameterName: '/ekslink/example/proxy-ami/arm64' })),
    ).toThrow(
      `proxyFleet.amiId is "${String(amiId)}" and proxyFleet.amiParameterName is "/ekslink/example/proxy-ami/arm64": pin the image once`,
    );
    const { account: _, ...noAccount } = fleet;
    expect(() =>
      loadAppConfig(config({ ...noAccount, amiParameterName: '/ekslink/example/proxy-ami/arm64' })),
    ).toThrow(
      'proxyFleet.amiParameterName "/ekslink/example/proxy-ami/arm64" is looked up in one account and region, but proxyFleet has no account: give proxyFleet.account and proxyFleet.region',
    );
  });

  it('names a render file that cannot be read', () => {
    const example = JSON.parse(readFileSync(join(EXAMPLES, 'topology1.json'), 'utf8'));
    const path = write('missing.json', {
      deploymentName: 'x',
      wireGuardPeer: {
        ...example.wireGuardPeer,
        vpcEndpointSecurityGroupId: 'sg-0f1a2b3c4d5e6f701',
        wireGuardConfigFile: join(EXAMPLES, 'wireguard/aws/ekslink0.conf'),
        nftablesFile: 'nope.nft',
      },
    });
    expect(() => loadAppConfig(path)).toThrow(
      `nftablesFile ${join(dir, 'nope.nft')} cannot be read (ENOENT)`,
    );
  });
});
