/**
 * Which upstream addresses the proxy may dial: those inside allowedUpstreamCidrs, with
 * guard rails so that a broad block ("0.0.0.0/0", "10.0.0.0/8", "::/0") never opens the
 * host's own special addresses. Loopback, link-local, unspecified, multicast and the AWS
 * instance-service addresses are allowed only by a block that lies entirely inside such a
 * range and so names it on purpose (tests and the demo use e.g. "127.0.10.0/24"). The
 * instance metadata service (169.254.169.254, fd00:ec2::254) is never allowed at all.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged as the IPv4 address they carry.
 */
import {
  blockContains as contains,
  blockWithin,
  parseAddress,
  parseCidr,
  type CidrBlock as Block,
} from '../../common/cidr.js';
import { ProxyError } from '../errors.js';

/** Why an address is or is not dialable; appears in log messages. */
export type AddressVerdict = 'allowed' | 'imds' | 'special' | 'outside' | 'invalid';

const SPECIAL_RANGES: readonly Block[] = [
  '0.0.0.0/8', // "this network", includes the unspecified address
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, IMDS, Amazon DNS/NTP
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved and broadcast
  '::/128', // unspecified
  '::1/128', // loopback
  'fe80::/10', // link-local
  'ff00::/8', // multicast
  'fd00:ec2::/32', // AWS instance services over IPv6 (IMDS, DNS, NTP)
  // IPv6 forms that embed an IPv4 address; a translator (NAT64, SIIT) or a dual-stack
  // stack could carry them to it past the IPv4 rules. IPv4-mapped (::ffff:0:0/96) needs
  // no entry: it is judged as the IPv4 address it carries.
  '64:ff9b::/96', // NAT64 well-known prefix
  '64:ff9b:1::/48', // NAT64 local-use prefix (RFC 8215)
  '::/96', // IPv4-compatible (deprecated), includes :: and ::1
  '::ffff:0:0:0/96', // IPv4-translated (SIIT)
].map((c) => parseCidr(c) as Block);

/**
 * Address space that is not routed on the public internet: where a VPC's EKS API ENIs
 * live (RFC 1918, the 100.64.0.0/10 range AWS allows as a secondary VPC CIDR, the
 * 198.18.0.0/15 benchmarking range, IPv6 ULAs) plus the special ranges above, which the
 * policy guards separately.
 */
const NON_PUBLIC_RANGES: readonly Block[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '198.18.0.0/15',
  'fc00::/7',
]
  .map((c) => parseCidr(c) as Block)
  .concat(SPECIAL_RANGES);

/**
 * True when a CIDR block lies wholly inside non-public address space. A block that reaches
 * public addresses (0.0.0.0/0, a public /16, any global IPv6 range) would let a poisoned
 * DNS answer send kube traffic to the internet. Undefined when the block does not parse.
 */
export function isNonPublicCidr(cidr: string): boolean | undefined {
  const block = parseCidr(cidr);
  if (block === undefined) return undefined;
  return NON_PUBLIC_RANGES.some((r) => blockWithin(block, r));
}

const NEVER: readonly bigint[] = ['169.254.169.254', 'fd00:ec2::254'].map((a) => parseAddress(a) as bigint);

/** Verdicts remembered per policy; DNS returns the same few ENI addresses over and over. */
const MAX_REMEMBERED = 1024;

export class AddressPolicy {
  private readonly verdicts = new Map<string, AddressVerdict>();

  private constructor(private readonly blocks: readonly { block: Block; namesSpecial: boolean }[]) {}

  /** Throws EKL_CIDR_INVALID naming the block that does not parse. */
  static fromCidrs(cidrs: readonly string[]): AddressPolicy {
    return new AddressPolicy(
      cidrs.map((text) => {
        const block = parseCidr(text);
        if (block === undefined) {
          throw new ProxyError(
            'EKL_CIDR_INVALID',
            `allowedUpstreamCidrs: "${text}" is not a CIDR block; write it like "10.0.0.0/16" or "fd00::/8"`,
            { source: 'config' },
          );
        }
        const namesSpecial = SPECIAL_RANGES.some((s) => blockWithin(block, s));
        return { block, namesSpecial };
      }),
    );
  }

  allows(address: string): boolean {
    return this.judge(address) === 'allowed';
  }

  /** The verdict with its reason, for messages that explain a refusal (computed once per address). */
  judge(address: string): AddressVerdict {
    let verdict = this.verdicts.get(address);
    if (verdict === undefined) {
      verdict = this.evaluate(address);
      // A config's policy lives until the next reload; a flood of distinct answers starts over.
      if (this.verdicts.size >= MAX_REMEMBERED) this.verdicts.clear();
      this.verdicts.set(address, verdict);
    }
    return verdict;
  }

  private evaluate(address: string): AddressVerdict {
    const value = parseAddress(address);
    if (value === undefined) return 'invalid';
    if (NEVER.includes(value)) return 'imds';
    const special = SPECIAL_RANGES.some((s) => contains(s, value));
    let inside = false;
    for (const { block, namesSpecial } of this.blocks) {
      if (!contains(block, value)) continue;
      if (!special || namesSpecial) return 'allowed';
      inside = true;
    }
    return inside || special ? 'special' : 'outside';
  }
}
