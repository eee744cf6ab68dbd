/**
 * User data of the WireGuard peer: wireguard-tools and nftables from AL2023, the Elastic IP
 * moved to this instance, the private key fetched from Secrets Manager into a 0600 file
 * (never in user data or the template), the rendered config and rules installed, wg-quick
 * enabled, and the tunnel health watcher started; the exit code is the CloudFormation signal.
 * The source/destination check stays on: forwarded connections are masqueraded behind the
 * instance's own address, so every packet on its ENI is its own.
 */
import type { PeerWireGuardFiles } from './wireguard-config.js';
import {
  BOOTSTRAP_LOG,
  finished,
  imdsIdentity,
  installPackages,
  preamble,
  startCloudWatchAgent,
  writeFile,
} from './user-data-common.js';
import {
  TUNNEL_HEALTH_LOG,
  TUNNEL_HEALTH_SCRIPT,
  TUNNEL_HEALTH_UNIT,
  tunnelHealthScript,
  tunnelHealthUnit,
} from './wireguard-health.js';

export const PEER_PACKAGES = ['wireguard-tools', 'nftables', 'amazon-cloudwatch-agent', 'aws-cfn-bootstrap'];

export interface PeerUserDataInput {
  readonly interfaceName: string;
  readonly files: PeerWireGuardFiles;
  readonly wireGuardConfig: string;
  readonly nftablesRules: string;
  readonly privateKeySecretArn: string;
  readonly elasticIpAllocationId: string;
  readonly logGroupName: string;
  /** Handshake age (s) after which the watcher marks the instance unhealthy. */
  readonly maxHandshakeAgeSec: number;
}

function network(i: PeerUserDataInput): string[] {
  return [
    // The GCP side dials a fixed address: move the Elastic IP to whichever instance the ASG launched.
    `aws ec2 associate-address --region "$REGION" --instance-id "$INSTANCE_ID" --allocation-id ${i.elasticIpAllocationId} --allow-reassociation --output text`,
  ];
}

function privateKey(i: PeerUserDataInput): string[] {
  const file = i.files.privateKeyFile;
  return [
    `install -d -m 0700 "$(dirname ${file})"`,
    // umask 077 in a subshell: the key file is 0600 from its first byte; the key never reaches stdout or the log.
    `( umask 077; aws secretsmanager get-secret-value --region "$REGION" --secret-id '${i.privateKeySecretArn}' --query SecretString --output text > ${file}.new )`,
    `if ! grep -Eq '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$' ${file}.new; then echo "ekslink bootstrap: the secret is not a WireGuard private key (44 base64 characters)" >&2; rm -f ${file}.new; exit 1; fi`,
    `mv ${file}.new ${file} && chmod 0600 ${file} && chown root:root ${file}`,
  ];
}

function wireguard(i: PeerUserDataInput): string[] {
  const conf = `/etc/wireguard/${i.interfaceName}.conf`;
  return [
    'install -d -m 0700 /etc/wireguard',
    ...writeFile(i.files.nftablesFile, i.nftablesRules, '0600'),
    ...writeFile(conf, i.wireGuardConfig, '0600'),
    // Forwarding survives reboots even before wg-quick's own PostUp runs.
    ...writeFile('/etc/sysctl.d/90-ekslink-wireguard.conf', 'net.ipv4.ip_forward = 1', '0644'),
    'sysctl -q --system',
    `systemctl enable --now wg-quick@${i.interfaceName}.service`,
    `wg show ${i.interfaceName} listen-port`,
  ];
}

function tunnelHealth(i: PeerUserDataInput): string[] {
  const script = tunnelHealthScript({
    interfaceName: i.interfaceName,
    maxHandshakeAgeSec: i.maxHandshakeAgeSec,
  });
  return [
    ...writeFile(TUNNEL_HEALTH_SCRIPT, script, '0755'),
    ...writeFile(`/etc/systemd/system/${TUNNEL_HEALTH_UNIT}`, tunnelHealthUnit(i.interfaceName), '0644'),
    'systemctl daemon-reload',
    `systemctl enable --now ${TUNNEL_HEALTH_UNIT}`,
  ];
}

export function peerUserData(i: PeerUserDataInput): string[] {
  return [
    ...preamble(),
    ...installPackages(PEER_PACKAGES),
    ...imdsIdentity(),
    ...network(i),
    ...privateKey(i),
    ...wireguard(i),
    ...tunnelHealth(i),
    ...startCloudWatchAgent(i.logGroupName, [
      { path: BOOTSTRAP_LOG, streamSuffix: 'bootstrap' },
      { path: TUNNEL_HEALTH_LOG, streamSuffix: 'tunnel-health' },
    ]),
    ...finished(),
  ];
}
