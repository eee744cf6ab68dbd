/**
 * IP addresses and CIDR blocks as 128-bit numbers, one implementation for every part: the
 * proxy's address policy, the provisioner's VPC checks and the CDK props. IPv4 lives in the
 * IPv6 space as ::ffff:a.b.c.d, so an IPv4 address and its IPv4-mapped form are one value
 * and a block of either family is compared the same way.
 */
import { isIP } from 'node:net';

const V4_MAPPED_BASE = 0xffffn << 32n;
const ALL_ONES = (1n << 128n) - 1n;

export interface CidrBlock {
  readonly text: string;
  readonly family: 4 | 6;
  /** Prefix length as written (0-32 for IPv4, 0-128 for IPv6). */
  readonly prefixLength: number;
  /** The network address (host bits cleared), in the 128-bit space. */
  readonly base: bigint;
  /** Prefix length in the 128-bit space. */
  readonly bits: number;
  readonly mask: bigint;
  /** False when the text had host bits set, e.g. "10.0.1.5/16". */
  readonly hostBitsClear: boolean;
}

/** `a.b.c.d/n` or `v6/n`; undefined when it is not a CIDR block. */
export function parseCidr(text: string): CidrBlock | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return undefined;
  const family = isIP(addr);
  const prefixLength = Number(bitsText);
  if (family === 0 || prefixLength > (family === 4 ? 32 : 128)) return undefined;
  const value = parseAddress(addr);
  if (value === undefined) return undefined;
  // Judge ::ffff:0:0/96-style blocks written in IPv6 the same as their IPv4 form.
  const bits = family === 4 ? 96 + prefixLength : prefixLength;
  const mask = bits === 0 ? 0n : (ALL_ONES << BigInt(128 - bits)) & ALL_ONES;
  return {
    text,
    family: family === 4 ? 4 : 6,
    prefixLength,
    base: value & mask,
    bits,
    mask,
    hostBitsClear: (value & mask) === value,
  };
}

/** True when the 128-bit address value lies in the block. */
export function blockContains(block: CidrBlock, value: bigint): boolean {
  return (value & block.mask) === block.base;
}

/** True when `inner` lies entirely within `outer`. */
export function blockWithin(inner: CidrBlock, outer: CidrBlock): boolean {
  return outer.bits <= inner.bits && blockContains(outer, inner.base);
}

/** True when the two blocks share any address (prefix blocks overlap only by nesting). */
export function blocksOverlap(a: CidrBlock, b: CidrBlock): boolean {
  return blockWithin(a, b) || blockWithin(b, a);
}

/** An IPv4 network address + offset, as text (the VPC resolver is the VPC base + 2). */
export function ipv4At(block: CidrBlock, offset: number): string {
  const n = Number(block.base & 0xffffffffn) + offset;
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** An IPv4 or IPv6 address as a 128-bit number (IPv4 mapped); undefined if not an address. */
export function parseAddress(address: string): bigint | undefined {
  const family = isIP(address);
  if (family === 4) return V4_MAPPED_BASE | BigInt(ipv4ToNumber(address));
  if (family !== 6 || address.includes('%')) return undefined;
  let text = address;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = ipv4ToNumber(text.slice(lastColon + 1));
    tail = [v4 >>> 16, v4 & 0xffff];
    text = `${text.slice(0, lastColon + 1)}0`; // placeholder group, replaced below
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  if (tail.length > 0) (rest === undefined ? headGroups : restGroups).pop();
  const known = headGroups.length + restGroups.length + tail.length;
  const zeros = rest === undefined ? 0 : 8 - known;
  const groups = [
    ...headGroups.map((g) => parseInt(g, 16)),
    ...new Array<number>(zeros).fill(0),
    ...restGroups.map((g) => parseInt(g, 16)),
    ...tail,
  ];
  if (groups.length !== 8) return undefined;
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

function ipv4ToNumber(address: string): number {
  let n = 0;
  for (const part of address.split('.')) n = n * 256 + Number(part);
  return n;
}
