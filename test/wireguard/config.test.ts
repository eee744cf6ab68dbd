import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/errors.js';
import { generateKeyPair } from '../../provisioner/wireguard/keys.js';
import { parseWireguardConfig } from '../../provisioner/wireguard/config.js';

const minimal = {
  gcp: { tunnelAddress: '10.200.0.2' },
  aws: { tunnelAddress: '10.200.0.1', endpointHost: '203.0.113.10' },
  vpcEndpoint: { addresses: ['10.0.1.23', '10.0.2.45'] },
};

function problems(data: unknown): readonly string[] {
  try {
    parseWireguardConfig(data, 'wg.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

describe('wireguard render config', () => {
  it('fills in the defaults: MTU 1460 - 80, keepalive 25, port 51820, interface ekslink0', () => {
    const config = parseWireguardConfig(minimal);
    expect(config.mtu).toBe(1380);
    expect(config.persistentKeepaliveSec).toBe(25);
    expect(config.aws.listenPort).toBe(51820);
    expect(config.gcp.interfaceName).toBe('ekslink0');
    expect(config.aws.interfaceName).toBe('ekslink0');
  });

  it('names every problem with its key, the value and an example', () => {
    const found = problems({
      gcp: { tunnelAddress: '10.200.0.2/31', interfaceName: 'much-too-long-interface' },
      aws: { tunnelAddress: '10.0.1.23', endpointHost: 'not a host', listenPort: 70000 },
      vpcEndpoint: { addresses: ['10.0.1.23', '10.0.1.23', 'fd00::1'] },
      mtu: 1500,
      extra: 1,
    });
    const text = found.join('\n');
    expect(text).toContain('gcp.tunnelAddress: must be an IPv4 address (no prefix length');
    expect(text).toContain('(got "10.200.0.2/31")');
    expect(text).toContain('gcp.interfaceName: must be a Linux interface name');
    expect(text).toContain('aws.endpointHost: must be the public IP address');
    expect(text).toContain('aws.listenPort: must be from 1 to 65535, e.g. 51820');
    expect(text).toContain('vpcEndpoint.addresses[1]: is listed twice');
    expect(text).toContain('vpcEndpoint.addresses[2]: must be an IPv4 address');
    expect(text).toContain('mtu: must be at most 1420');
    expect(text).toContain('(top level): unknown key "extra": check the spelling');
  });

  it('rejects tunnel addresses that collide with each other or with the endpoint', () => {
    const text = problems({
      ...minimal,
      gcp: { tunnelAddress: '10.0.1.23' },
      aws: { tunnelAddress: '10.0.1.23', endpointHost: '203.0.113.10' },
    }).join('\n');
    expect(text).toContain('aws.tunnelAddress: must differ from gcp.tunnelAddress');
    expect(text).toContain('gcp.tunnelAddress: must not be one of vpcEndpoint.addresses');
  });

  it('takes an existing public key only together with where the host keeps the private key', () => {
    const { publicKey } = generateKeyPair();
    expect(problems({ ...minimal, gcp: { tunnelAddress: '10.200.0.2', publicKey } }).join('\n')).toContain(
      'gcp.privateKeyFile: give both gcp.publicKey and gcp.privateKeyFile',
    );
    expect(
      problems({
        ...minimal,
        gcp: { tunnelAddress: '10.200.0.2', publicKey: 'abc', privateKeyFile: 'rel/x.key' },
      }),
    ).toEqual([
      expect.stringContaining('gcp.publicKey: must be a WireGuard public key'),
      expect.stringContaining('gcp.privateKeyFile: must be an absolute path'),
    ]);
    const ok = parseWireguardConfig({
      ...minimal,
      gcp: { tunnelAddress: '10.200.0.2', publicKey, privateKeyFile: '/etc/wireguard/ekslink0.key' },
    });
    expect(ok.gcp.publicKey).toBe(publicKey);
  });

  it('refuses shell characters in paths that wg-quick runs through bash', () => {
    const text = problems({
      ...minimal,
      aws: { ...minimal.aws, nftablesFile: '/etc/x.nft; rm -rf /' },
    }).join('\n');
    expect(text).toContain('aws.nftablesFile: must be an absolute path on that host without spaces');
  });
});
