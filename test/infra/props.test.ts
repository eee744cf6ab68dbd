/**
 * Props are validated in the constructor: each bad value fails before any resource exists,
 * with a message that names the prop, the value and an example of a valid one.
 */
import { App, Stack } from 'aws-cdk-lib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/errors.js';
import { InfraError } from '../../infra/lib/errors.js';
import { provisionerDefaultTargetGroup } from '../../infra/lib/fleet-pairing.js';
import { ProxyFleet, type ProxyFleetProps } from '../../infra/lib/proxy-fleet.js';
import { WireGuardPeer, type WireGuardPeerProps } from '../../infra/lib/wireguard-peer.js';
import { fleetProps, peerProps } from './helpers.js';
import { UNIT_PATH } from './unit-path.js';

function fleet(overrides: Partial<ProxyFleetProps>): () => ProxyFleet {
  return () =>
    new ProxyFleet(
      new Stack(new App(), 'S'),
      'Fleet',
      fleetProps({ systemdUnitPath: UNIT_PATH, ...overrides }),
    );
}

function peer(overrides: Partial<WireGuardPeerProps>): () => WireGuardPeer {
  return () => new WireGuardPeer(new Stack(new App(), 'S'), 'Peer', peerProps(overrides));
}

/** The thrown error: an InfraError with the stable code, naming the construct and the prop. */
function thrown(build: () => unknown): InfraError {
  try {
    build();
  } catch (err) {
    expect(err).toBeInstanceOf(InfraError);
    return err as InfraError;
  }
  throw new Error('expected the constructor to throw');
}

describe('ProxyFleet props', () => {
  it.each<[string, Partial<ProxyFleetProps>, RegExp]>([
    [
      'one AZ only',
      { availabilityZones: ['us-east-1a', 'us-east-1a'] },
      /props\.availabilityZones must span at least 2 distinct Availability Zones .*\(got \["us-east-1a","us-east-1a"\]\); e\.g\. availabilityZones: \["us-east-1a", "us-east-1b"\]/,
    ],
    [
      'one subnet',
      { privateSubnetIds: ['subnet-0a1b2c3d4e5f60711'], availabilityZones: ['us-east-1a'] },
      /props\.privateSubnetIds must list at least 2 subnet IDs \(got \["subnet-0a1b2c3d4e5f60711"\]\); e\.g\./,
    ],
    [
      'zones not matching subnets',
      { availabilityZones: ['us-east-1a'] },
      /props\.availabilityZones must give the Availability Zone of each of the 2 privateSubnetIds/,
    ],
    [
      'a malformed VPC ID',
      { vpcId: 'vpc-XYZ' },
      /props\.vpcId must be a vpc ID like "vpc-0123456789abcdef0" \(got "vpc-XYZ"\)/,
    ],
    [
      'a VPC CIDR with host bits',
      { vpcCidr: '10.0.0.1/16' },
      /props\.vpcCidr must be the VPC primary IPv4 CIDR, \/16 to \/28, with host bits clear \(got "10\.0\.0\.1\/16"\); e\.g\. vpcCidr: "10\.0\.0\.0\/16"/,
    ],
    [
      'a malformed cluster SG',
      { clusterSecurityGroupId: 'sg-1' },
      /props\.clusterSecurityGroupId must be a sg ID/,
    ],
    [
      'a malformed prefix list',
      { s3PrefixListId: 'pl_1' },
      /props\.s3PrefixListId .*describe-managed-prefix-lists/,
    ],
    [
      'a listener ARN for the target group',
      {
        targetGroupArn:
          'arn:aws:elasticloadbalancing:us-east-1:111111111111:listener/net/x/0123456789abcdef/0123456789abcdef',
      },
      /props\.targetGroupArn must be a target group ARN \(the targetGroupArn output of `ekslink provision apply`\)/,
    ],
    [
      'an x86 instance type',
      { instanceType: 'm5.large' },
      /props\.instanceType must be a Graviton \(arm64\) instance type.*\(got "m5\.large"\); e\.g\. instanceType: "t4g\.small"/,
    ],
    [
      'max not above min',
      { minCapacity: 2, maxCapacity: 2 },
      /props\.maxCapacity must be greater than minCapacity \(2\) so a rolling update can add an instance/,
    ],
    [
      'desired above max',
      { desiredCapacity: 5 },
      /props\.desiredCapacity must be from minCapacity \(2\) to maxCapacity \(4\) \(got 5\)/,
    ],
    [
      'a privileged health port',
      { healthPort: 80 },
      /props\.healthPort must be a whole number from 1024 to 65535 \(got 80\)/,
    ],
    [
      'a drain that does not fit the lifecycle hook',
      { drainGraceSec: 200, drainDeadlineSec: 7000 },
      /props\.drainDeadlineSec plus drainGraceSec \(200\) plus 30s must fit the 7200s lifecycle hook limit/,
    ],
    [
      'proxyProtocolMode off behind a target group that sends PROXY v2',
      { proxyProtocolMode: 'off' },
      /props\.proxyProtocolMode must be "required": the target group sends PROXY protocol v2 \(targetGroupSettings\.proxyProtocolV2 true\).*refuse every connection.*\(got "off"\); e\.g\. proxyProtocolMode: "required"/,
    ],
    [
      'proxyProtocolMode required behind a target group without PROXY v2',
      {
        proxyProtocolMode: 'required',
        targetGroupSettings: { ...provisionerDefaultTargetGroup(8080), proxyProtocolV2: false },
      },
      /props\.proxyProtocolMode must be "off": the target group does not send PROXY protocol v2 \(targetGroupSettings\.proxyProtocolV2 false\).*\(got "required"\)/,
    ],
    [
      'a health port the target group does not probe',
      { healthPort: 9090, targetGroupSettings: provisionerDefaultTargetGroup(8080) },
      /props\.healthPort must be the port the target group's health check probes \(targetGroupSettings\.healthCheckPort 8080\).*\(got 9090\)/,
    ],
    [
      'a drain longer than the deregistration delay',
      { drainDeadlineSec: 600 },
      /props\.drainDeadlineSec does not fit the target group: the target group's deregistration delay \(345s\) is shorter than the proxy's drain: drainGraceSec \(15\) \+ drainDeadlineSec \(600\) \+ 30s margin = 645s.*set provider\.nlb\.deregistrationDelaySec to 645.*\(got 600\); e\.g\. drainDeadlineSec: 300/,
    ],
    [
      'a target group that resets connections at the end of the delay',
      { targetGroupSettings: { ...provisionerDefaultTargetGroup(8080), connectionTermination: true } },
      /props\.targetGroupSettings\.connectionTermination does not fit the target group: the target group resets connections.*set provider\.nlb\.connectionTermination to false/,
    ],
    [
      'a grace shorter than the health check needs to notice',
      { drainGraceSec: 10 },
      /props\.drainGraceSec does not fit the target group: drainGraceSec \(10\) must be longer than the health check's detection time: interval 5s x unhealthy threshold 2 = 10s.*e\.g\. drainGraceSec: 15/,
    ],
    [
      'a fractional deadline',
      { drainDeadlineSec: 1.5 },
      /props\.drainDeadlineSec must be a whole number from 0 to 7000 \(got 1\.5\)/,
    ],
    [
      'an unknown log retention',
      { logRetentionDays: 10 },
      /props\.logRetentionDays must be a CloudWatch Logs retention value/,
    ],
    [
      'a CPU target of 100%',
      { cpuTargetUtilizationPercent: 100 },
      /props\.cpuTargetUtilizationPercent must be a whole number from 10 to 90/,
    ],
  ])('refuses %s', (_, overrides, message) => {
    // WHEN the fleet is built with one bad prop THEN synth stops with a message naming it
    const err = thrown(fleet(overrides));
    expect(err.code).toBe('EKL_INFRA_PROPS_INVALID');
    expect(err.message).toMatch(/^ProxyFleet 'S\/Fleet': /);
    expect(err.message).toMatch(message);
  });

  it('fails with the proxy config schema message when the rendered config is invalid', () => {
    // GIVEN an endpoint allowlist without PROXY protocol, and an IP address as a route
    const build = fleet({
      allowedVpcEndpointIds: ['vpce-0123456789abcdef0'],
      eksApiHostnames: ['10.0.0.5'],
      targetGroupSettings: { ...provisionerDefaultTargetGroup(8080), proxyProtocolV2: false },
    });
    // THEN the proxy's own ConfigError names both keys
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(
      /ProxyFleet 'S\/Fleet' proxy config \(rendered from props\) is not valid \(2 problems\)/,
    );
    expect(build).toThrow(/routes\[0\]\.sni: must be a DNS hostname/);
    expect(build).toThrow(/proxyProtocol\.allowedVpcEndpointIds: needs proxyProtocol\.mode: required/);
  });

  it('refuses upstream CIDRs that reach public addresses unless allowPublicUpstreamCidrs is set', () => {
    // GIVEN a public range as the upstream CIDR
    const build = fleet({ allowedUpstreamCidrs: ['52.0.0.0/16'] });
    // THEN the proxy's own schema refuses it and names the way out
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(/allowedUpstreamCidrs\[0\]: reaches public internet addresses/);
    expect(build).toThrow(/allowPublicUpstreamCidrs: true/);
    // WHEN the prop says the VPC really uses it THEN synth goes on
    expect(fleet({ allowedUpstreamCidrs: ['52.0.0.0/16'], allowPublicUpstreamCidrs: true })).not.toThrow();
  });

  it('tells to run `npm run build` when the bundle is missing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'ekslink-nobundle-'));
    try {
      const err = thrown(fleet({ bundleDir: empty }));
      expect(err.code).toBe('EKL_INFRA_BUNDLE_MISSING');
      expect(err.message).toContain(
        `the proxy bundle ${join(empty, 'ekslink.mjs')} does not exist; run \`npm run build\``,
      );
    } finally {
      rmSync(empty, { recursive: true });
    }
  });

  it('names the unit file when it is missing', () => {
    const err = thrown(fleet({ systemdUnitPath: '/nonexistent/ekslink-proxy.service' }));
    expect(err.code).toBe('EKL_INFRA_UNIT_INVALID');
    expect(err.message).toContain('systemd unit /nonexistent/ekslink-proxy.service: is missing');
  });
});

describe('WireGuardPeer props', () => {
  const conf = peerProps().wireGuardConfig;

  it.each<[string, Partial<WireGuardPeerProps>, RegExp]>([
    [
      '0.0.0.0/0 as a GCP egress CIDR',
      { gcpEgressCidrs: ['0.0.0.0/0'] },
      /props\.gcpEgressCidrs\[0\] is wider than \/16; name the exact egress addresses \(got "0\.0\.0\.0\/0"\)/,
    ],
    [
      '::/0 as a GCP egress CIDR',
      { gcpEgressCidrs: ['203.0.113.10/32', '::/0'] },
      /props\.gcpEgressCidrs\[1\] is wider than \/48/,
    ],
    [
      'no GCP egress CIDR',
      { gcpEgressCidrs: [] },
      /props\.gcpEgressCidrs must list at least one CIDR \(got \[\]\)/,
    ],
    [
      'a CIDR with host bits',
      { gcpEgressCidrs: ['203.0.113.10/24'] },
      /props\.gcpEgressCidrs\[0\] must be a CIDR block with host bits clear/,
    ],
    [
      'a config holding the private key',
      {
        wireGuardConfig: conf.replace(
          '[Interface]',
          '[Interface]\nPrivateKey = aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28=',
        ),
      },
      /props\.wireGuardConfig must not contain a key \(it would be stored in the template and user data\).*\(got "privatekey = <redacted>"\)/,
    ],
    [
      'a config with a preshared key',
      { wireGuardConfig: `${conf}PresharedKey = aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28=\n` },
      /props\.wireGuardConfig must not contain a key/,
    ],
    [
      'a config that does not load a key file',
      { wireGuardConfig: conf.replace(/^PostUp = wg set.*$/m, '') },
      /props\.wireGuardConfig must load the private key with "PostUp = wg set %i private-key \/absolute\/path"; render it with `ekslink wireguard render` giving aws\.publicKey and aws\.privateKeyFile/,
    ],
    [
      'a config without ListenPort',
      { wireGuardConfig: conf.replace(/^ListenPort.*$/m, '') },
      /props\.wireGuardConfig must set ListenPort/,
    ],
    [
      'SaveConfig',
      { wireGuardConfig: conf.replace('[Interface]', '[Interface]\nSaveConfig = true') },
      /must not set SaveConfig/,
    ],
    [
      'nftables rules that are not the rendered file',
      { nftablesRules: 'flush ruleset' },
      /props\.nftablesRules must be the aws\/<iface>\.nft rules text/,
    ],
    [
      'a partial secret ARN',
      { privateKeySecretArn: 'arn:aws:secretsmanager:us-east-1:222222222222:secret:ekslink/wg' },
      /props\.privateKeySecretArn must be the full secret ARN including its 6-character suffix/,
    ],
    [
      'a bad interface name',
      { interfaceName: 'a-very-long-interface-name' },
      /props\.interfaceName must be a Linux interface name of 1-15 characters/,
    ],
    [
      'an x86 instance type',
      { instanceType: 'c5.large' },
      /props\.instanceType must be a Graviton \(arm64\) instance type/,
    ],
    [
      'a malformed Elastic IP allocation',
      { elasticIpAllocationId: 'eip-1' },
      /props\.elasticIpAllocationId must be a eipalloc ID/,
    ],
  ])('refuses %s', (_, overrides, message) => {
    const err = thrown(peer(overrides));
    expect(err.code).toBe('EKL_INFRA_PROPS_INVALID');
    expect(err.message).toMatch(/^WireGuardPeer 'S\/Peer': /);
    expect(err.message).toMatch(message);
    // A refused key is never echoed back.
    expect(err.message).not.toContain('aGVsbG8gd29ybGQ');
  });

  it('keeps an existing Elastic IP when one is given, instead of creating one', () => {
    const stack = new Stack(new App(), 'S');
    const p = new WireGuardPeer(
      stack,
      'Peer',
      peerProps({ elasticIpAllocationId: 'eipalloc-0123456789abcdef0' }),
    );
    expect(p.elasticIpAllocationId).toBe('eipalloc-0123456789abcdef0');
    expect(p.publicIp).toBeUndefined();
    expect(stack.node.findAll().some((c) => c.node.id === 'ElasticIp')).toBe(false);
  });
});
