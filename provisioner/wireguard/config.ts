/**
 * The `ekslink wireguard render --config FILE` schema: both ends of the WireGuard hop of
 * topology 1 (GCP gateway <-> WireGuard peer in the proxy account). Documented key by key in
 * docs/wireguard.md.
 */
import { isIP } from 'node:net';
import * as z from 'zod';
import { loadConfigFile, validateConfig, whenParsed } from '../../common/config-file.js';
import { isWireguardKey } from './keys.js';

/** WireGuard adds 80 bytes to every packet over IPv6 (60 over IPv4); GCP's VPC MTU is 1460. */
export const GCP_VPC_MTU = 1460;
export const WIREGUARD_OVERHEAD_BYTES = 80;
export const DEFAULT_TUNNEL_MTU = GCP_VPC_MTU - WIREGUARD_OVERHEAD_BYTES;
/** The only port the AWS side forwards to the VPC endpoint. */
export const VPC_ENDPOINT_PORT = 443;

const IFACE = /^[a-zA-Z0-9_=+.-]{1,15}$/;
const HOSTNAME =
  /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

const interfaceName = z
  .string()
  .regex(IFACE, {
    message:
      'must be a Linux interface name of 1-15 characters from [a-zA-Z0-9_=+.-] (wg-quick names the file after it), e.g. "ekslink0"',
  })
  .default('ekslink0');

const ipv4 = (example: string) =>
  z.string().refine((s) => isIP(s) === 4, {
    message: `must be an IPv4 address (no prefix length; it is rendered as a /32), e.g. "${example}"`,
  });

const publicKey = z.string().refine(isWireguardKey, {
  message:
    'must be a WireGuard public key: 32 bytes in base64, 44 characters ending in "=", e.g. the output of `wg pubkey < private.key`',
});

// wg-quick cuts a line at "#", expands "%i" and runs hooks through bash: keep paths plain.
const hostPath = (example: string) =>
  z.string().refine((s) => s.startsWith('/') && !/[\s#'"\\%$`;&|<>]/.test(s), {
    message: `must be an absolute path on that host without spaces, quotes or shell characters (wg-quick runs it in PostUp), e.g. "${example}"`,
  });

const port = (what: string, example: number) =>
  z
    .number({ message: `${what} must be a whole number from 1 to 65535, e.g. ${example}` })
    .int({ message: `${what} must be a whole number from 1 to 65535, e.g. ${example}` })
    .min(1, { message: `${what} must be from 1 to 65535, e.g. ${example}` })
    .max(65535, { message: `${what} must be from 1 to 65535, e.g. ${example}` });

/**
 * Either nothing (ekslink generates a key pair, or keeps the one already rendered in
 * --out-dir), or the public key of a key that stays on that host plus where it lives there.
 */
const sideKeyFields = {
  /** Public key of an existing key pair on that host. @default generated */
  publicKey: publicKey.optional(),
  /** Where that host keeps the private key; required with publicKey. */
  privateKeyFile: hostPath('/etc/wireguard/ekslink0.key').optional(),
};

const keyPairing =
  (side: 'gcp' | 'aws') => (v: { publicKey?: string; privateKeyFile?: string }, ctx: z.RefinementCtx) => {
    if ((v.publicKey === undefined) !== (v.privateKeyFile === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [v.publicKey === undefined ? 'publicKey' : 'privateKeyFile'],
        message: `give both ${side}.publicKey and ${side}.privateKeyFile (a key kept on the host), or neither (ekslink generates the pair), e.g. privateKeyFile: "/etc/wireguard/ekslink0.key"`,
      });
    }
  };

export const gcpSideSchema = z
  .object({
    interfaceName,
    /** The GCP end's address inside the tunnel (source of every connection to the endpoint). */
    tunnelAddress: ipv4('10.200.0.2'),
    ...sideKeyFields,
  })
  .strict()
  .superRefine(keyPairing('gcp'));

export const awsSideSchema = z
  .object({
    interfaceName,
    /** The AWS end's address inside the tunnel. */
    tunnelAddress: ipv4('10.200.0.1'),
    /** Public address (Elastic IP) or DNS name of the WireGuard peer, as the GCP side dials it. */
    endpointHost: z.string().refine((s) => isIP(s) !== 0 || HOSTNAME.test(s), {
      message:
        'must be the public IP address (Elastic IP) or DNS name of the AWS WireGuard peer, e.g. "203.0.113.10"',
    }),
    /** @default 51820 */
    listenPort: port('aws.listenPort', 51820).default(51820),
    /** Where the nftables rules file is installed on the peer (PostUp loads it). @default /etc/wireguard/<interfaceName>.nft */
    nftablesFile: hostPath('/etc/wireguard/ekslink0.nft').optional(),
    ...sideKeyFields,
  })
  .strict()
  .superRefine(keyPairing('aws'));

export const wireguardConfigSchema = z
  .object({
    gcp: gcpSideSchema,
    aws: awsSideSchema,
    vpcEndpoint: z
      .object({
        /** The private IPv4 addresses of the interface VPC endpoint's ENIs (one per subnet). */
        addresses: z
          .array(ipv4('10.0.1.23'), {
            message: 'must be a list of the VPC endpoint ENI addresses, e.g. ["10.0.1.23", "10.0.2.45"]',
          })
          .min(1, {
            message:
              'must list at least one VPC endpoint ENI address (see `ekslink provision` outputs or `aws ec2 describe-network-interfaces`), e.g. ["10.0.1.23"]',
          })
          .max(16, { message: 'must list at most 16 addresses (one per subnet of the endpoint)' }),
      })
      .strict(),
    /** Tunnel MTU on both ends. @default 1380 (GCP VPC MTU 1460 - 80 bytes of WireGuard over IPv6) */
    mtu: z
      .number({ message: 'mtu must be a whole number from 1280 to 1420, e.g. 1380' })
      .int({ message: 'mtu must be a whole number from 1280 to 1420, e.g. 1380' })
      .min(1280, { message: 'mtu must be at least 1280 (the IPv6 minimum), e.g. 1380' })
      .max(1420, { message: 'mtu must be at most 1420 (1500 - 80), e.g. 1380' })
      .default(DEFAULT_TUNNEL_MTU),
    /** GCP side keepalive, so the NAT mappings on the way stay open. @default 25 */
    persistentKeepaliveSec: z
      .number({ message: 'persistentKeepaliveSec must be a whole number from 1 to 600, e.g. 25' })
      .int({ message: 'persistentKeepaliveSec must be a whole number from 1 to 600, e.g. 25' })
      .min(1, { message: 'persistentKeepaliveSec must be from 1 to 600, e.g. 25' })
      .max(600, { message: 'persistentKeepaliveSec must be from 1 to 600, e.g. 25' })
      .default(25),
  })
  .strict()
  .superRefine(
    (c, ctx) => {
      const endpoints = c.vpcEndpoint.addresses;
      endpoints.forEach((address, i) => {
        if (endpoints.indexOf(address) !== i) {
          ctx.addIssue({
            code: 'custom',
            path: ['vpcEndpoint', 'addresses', i],
            message: 'is listed twice; list each address once',
          });
        }
      });
      if (c.gcp.tunnelAddress === c.aws.tunnelAddress) {
        ctx.addIssue({
          code: 'custom',
          path: ['aws', 'tunnelAddress'],
          message:
            'must differ from gcp.tunnelAddress: each end needs its own tunnel address, e.g. 10.200.0.1 and 10.200.0.2',
        });
      }
      for (const side of ['gcp', 'aws'] as const) {
        if (endpoints.includes(c[side].tunnelAddress)) {
          ctx.addIssue({
            code: 'custom',
            path: [side, 'tunnelAddress'],
            message:
              'must not be one of vpcEndpoint.addresses: pick tunnel addresses from a range unused in both VPCs, e.g. 10.200.0.0/30',
          });
        }
      }
    },
    whenParsed(['vpcEndpoint', 'addresses'], ['gcp', 'tunnelAddress'], ['aws', 'tunnelAddress']),
  );

export type WireguardConfigInput = z.input<typeof wireguardConfigSchema>;
export type WireguardConfig = z.output<typeof wireguardConfigSchema>;

export function parseWireguardConfig(data: unknown, origin = 'wireguard config'): WireguardConfig {
  return validateConfig(wireguardConfigSchema, data, origin);
}

export function loadWireguardConfig(path: string): Promise<WireguardConfig> {
  return loadConfigFile(path, wireguardConfigSchema);
}
