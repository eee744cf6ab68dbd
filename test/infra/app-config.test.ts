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
    expect(config.proxyFleet?.env).toEqual({ account: '111111111111', region: 'us-east-1' });
    expect(config.proxyFleet?.props).not.toHaveProperty('region');
    expect(config.wireGuardPeer?.props.wireGuardConfig).toBe(
      readFileSync(join(EXAMPLES, 'wireguard/aws/ekslink0.conf'), 'utf8'),
    );
    expect(config.wireGuardPeer?.props.nftablesRules).toBe(
      readFileSync(join(EXAMPLES, 'wireguard/aws/ekslink0.nft'), 'utf8'),
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

  it("reads the image pipeline section and the fleet's pinned image", () => {
    const config = loadAppConfig(join(EXAMPLES, 'topology1.json'));
    expect(config.imagePipeline?.env).toEqual({ account: '111111111111', region: 'us-east-1' });
    expect(config.imagePipeline?.props.subnetIds).toEqual(['subnet-0a1b2c3d4e5f60711']);
    expect(config.proxyFleet?.props.amiId).toMatch(/^ami-[0-9a-f]{17}$/);
  });

  it('takes the pinned image as an id or as the pipeline parameter to look up', () => {
    const example = JSON.parse(readFileSync(join(EXAMPLES, 'topology1.json'), 'utf8'));
    const { amiId: _, ...fleet } = example.proxyFleet;
    const config = loadAppConfig(
      write('param.json', {
        deploymentName: 'x',
        proxyFleet: { ...fleet, amiParameterName: '/ekslink/x/proxy-ami/arm64' },
      }),
    );
    expect(config.proxyFleet?.props.amiParameterName).toBe('/ekslink/x/proxy-ami/arm64');
    expect(config.proxyFleet?.props.amiId).toBeUndefined();
  });

  it('names a render file that cannot be read', () => {
    const example = JSON.parse(readFileSync(join(EXAMPLES, 'topology1.json'), 'utf8'));
    const path = write('missing.json', {
      deploymentName: 'x',
      wireGuardPeer: {
        ...example.wireGuardPeer,
        wireGuardConfigFile: join(EXAMPLES, 'wireguard/aws/ekslink0.conf'),
        nftablesFile: 'nope.nft',
      },
    });
    expect(() => loadAppConfig(path)).toThrow(
      `nftablesFile ${join(dir, 'nope.nft')} cannot be read (ENOENT)`,
    );
  });
});
