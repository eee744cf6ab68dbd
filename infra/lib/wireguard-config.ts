/**
 * Reads the AWS-side files `ekslink wireguard render` writes (aws/<iface>.conf and
 * aws/<iface>.nft) far enough to install them: the listen port (for the security group),
 * the key file PostUp loads (where the secret is written at boot) and the nftables file.
 * The config must be rendered in key-file mode: a PrivateKey line would put the key into
 * the template and the user data, which the construct refuses.
 */
import { posix } from 'node:path';
import type { PropChecker } from './validate.js';

export interface PeerWireGuardFiles {
  readonly listenPort: number;
  /** Absolute path of the private key file PostUp hands to `wg set %i private-key`. */
  readonly privateKeyFile: string;
  /** Absolute path of the nftables rules file PostUp loads with `nft -f`. */
  readonly nftablesFile: string;
}

const RENDER_HINT =
  'render it with `ekslink wireguard render` giving aws.publicKey and aws.privateKeyFile (key-file mode), so the config loads the key from a file the peer writes from Secrets Manager at boot';

interface Line {
  readonly key: string;
  readonly value: string;
}

function entries(text: string): { sections: string[]; lines: Line[] } {
  const sections: string[] = [];
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) {
      sections.push((section[1] as string).toLowerCase());
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) lines.push({ key: line.slice(0, eq).trim().toLowerCase(), value: line.slice(eq + 1).trim() });
  }
  return { sections, lines };
}

const HOST_PATH = /^\/[A-Za-z0-9._/-]+$/;

export function readPeerWireGuardFiles(c: PropChecker, config: string, nftables: string): PeerWireGuardFiles {
  if (typeof config !== 'string' || config.length === 0 || config.length > 8192) {
    c.fail(
      'wireGuardConfig',
      config,
      'must be the AWS-side config text from `ekslink wireguard render` (at most 8 KiB)',
      'readFileSync("out/aws/ekslink0.conf", "utf8")',
    );
  }
  c.literal('wireGuardConfig', config, 'readFileSync("out/aws/ekslink0.conf", "utf8")');
  const { sections, lines } = entries(config);
  const secret = lines.find((l) => l.key === 'privatekey' || l.key === 'presharedkey');
  if (secret !== undefined) {
    c.fail(
      'wireGuardConfig',
      `${secret.key} = <redacted>`,
      `must not contain a key (it would be stored in the template and user data); ${RENDER_HINT}`,
      'PostUp = wg set %i private-key /etc/wireguard/ekslink0.key',
    );
  }
  if (sections.filter((s) => s === 'interface').length !== 1 || !sections.includes('peer')) {
    c.fail(
      'wireGuardConfig',
      sections,
      'must have one [Interface] section and at least one [Peer] section',
      'the aws/ekslink0.conf that `ekslink wireguard render` wrote',
    );
  }
  if (lines.some((l) => l.key === 'saveconfig' && l.value.toLowerCase() === 'true')) {
    c.fail(
      'wireGuardConfig',
      'SaveConfig = true',
      'must not set SaveConfig (wg-quick would write the key into the file on shutdown)',
      'remove the SaveConfig line',
    );
  }
  const portText = lines.find((l) => l.key === 'listenport')?.value;
  const listenPort = Number(portText);
  if (portText === undefined || !Number.isInteger(listenPort) || listenPort < 1 || listenPort > 65535) {
    c.fail(
      'wireGuardConfig',
      portText ?? '(no ListenPort)',
      'must set ListenPort (the UDP port the security group opens to the GCP egress CIDRs)',
      'ListenPort = 51820',
    );
  }
  const postUp = lines.filter((l) => l.key === 'postup').map((l) => l.value);
  const keyFile = postUp
    .map((v) => /^wg set %i private-key (\S+)$/.exec(v)?.[1])
    .find((p) => p !== undefined);
  if (keyFile === undefined || !HOST_PATH.test(keyFile)) {
    c.fail(
      'wireGuardConfig',
      postUp,
      `must load the private key with "PostUp = wg set %i private-key /absolute/path"; ${RENDER_HINT}`,
      'PostUp = wg set %i private-key /etc/wireguard/ekslink0.key',
    );
  }
  const nftFile = postUp.map((v) => /^nft -f (\S+)$/.exec(v)?.[1]).find((p) => p !== undefined);
  if (nftFile === undefined || !HOST_PATH.test(nftFile)) {
    c.fail(
      'wireGuardConfig',
      postUp,
      'must load its forwarding rules with "PostUp = nft -f /absolute/path" (as rendered)',
      'PostUp = nft -f /etc/wireguard/ekslink0.nft',
    );
  }
  if (posix.normalize(keyFile) !== keyFile || posix.normalize(nftFile) !== nftFile || keyFile === nftFile) {
    c.fail(
      'wireGuardConfig',
      { keyFile, nftFile },
      'must name two distinct normalized paths for the key and the rules',
      '/etc/wireguard/ekslink0.key and /etc/wireguard/ekslink0.nft',
    );
  }
  if (typeof nftables !== 'string' || !/^table inet \w+/m.test(nftables) || nftables.length > 16384) {
    c.fail(
      'nftablesRules',
      typeof nftables === 'string' ? nftables.slice(0, 40) : nftables,
      'must be the aws/<iface>.nft rules text from `ekslink wireguard render` (at most 16 KiB)',
      'readFileSync("out/aws/ekslink0.nft", "utf8")',
    );
  }
  c.literal('nftablesRules', nftables, 'readFileSync("out/aws/ekslink0.nft", "utf8")');
  return { listenPort, privateKeyFile: keyFile, nftablesFile: nftFile };
}
