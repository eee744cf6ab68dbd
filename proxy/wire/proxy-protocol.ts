/**
 * PROXY protocol version 2 (haproxy.org/download/2.9/doc/proxy-protocol.txt), the binary
 * header an AWS NLB puts in front of a connection when its target group has
 * `proxy_protocol_v2.enabled`. A pure, bounded, incremental parser: it never reads past
 * the header, so the bytes after `consumed` are the client's own (its TLS ClientHello).
 */
import { ProxyError, type ConnectionErrorCode } from '../errors.js';
import type { ParseResult } from './parse-result.js';

export interface ProxyHeader {
  command: 'local' | 'proxy';
  family: 'unspec' | 'tcp4' | 'tcp6' | 'udp4' | 'udp6' | 'unix';
  sourceAddress?: string;
  sourcePort?: number;
  destinationAddress?: string;
  destinationPort?: number;
  /** PrivateLink TLV 0xEA subtype 0x01 */
  vpcEndpointId?: string;
}

export type ProxyHeaderFamily = ProxyHeader['family'];

/** The 12-byte v2 signature: `\r\n\r\n\0\r\nQUIT\n`. */
export const PROXY_V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);

/** Signature, version/command, family/protocol, 2-byte length. */
export const PROXY_V2_FIXED_BYTES = 16;

/**
 * Largest header accepted unless the caller says otherwise: a UNIX-family address block
 * (216 bytes) plus room for TLVs. An NLB header with the PrivateLink TLV is under 100 bytes.
 */
export const PROXY_V2_DEFAULT_MAX_BYTES = 1024;

/** TLV type AWS uses for its own fields; subtype 0x01 is the VPC endpoint ID. */
export const PP2_TYPE_AWS = 0xea;
export const PP2_SUBTYPE_AWS_VPCE_ID = 0x01;

const COMMANDS = { 0x0: 'local', 0x1: 'proxy' } as const;
const FAMILIES: Record<number, ProxyHeaderFamily> = {
  0x00: 'unspec',
  0x11: 'tcp4',
  0x12: 'udp4',
  0x21: 'tcp6',
  0x22: 'udp6',
  0x31: 'unix',
  0x32: 'unix',
};
/** Size of the address block for each family. */
const ADDRESS_BYTES: Record<ProxyHeaderFamily, number> = {
  unspec: 0,
  tcp4: 12,
  udp4: 12,
  tcp6: 36,
  udp6: 36,
  unix: 216,
};
/** Each AF_UNIX address in the block is this long, NUL-padded. */
export const UNIX_PATH_BYTES = 108;
/** What AWS puts in the PrivateLink TLV; anything else is refused without being echoed. */
const VPCE_ID = /^vpce-[0-9a-f]{8,17}$/;

type ProxyHeaderErrorCode = Extract<ConnectionErrorCode, `EKL_PROXY_HEADER_${string}`>;

function fail(code: ProxyHeaderErrorCode, message: string): ParseResult<ProxyHeader> {
  return { kind: 'error', error: new ProxyError(code, message, { source: 'downstream' }) };
}

/**
 * Parse one PROXY v2 header from the start of `buf`. Returns `needMore` while the bytes so
 * far are a valid prefix, an error as soon as they cannot be one (a wrong signature is
 * detected from the first differing byte), and `done` with the bytes used.
 */
export function parseProxyHeader(
  buf: Buffer,
  maxBytes: number = PROXY_V2_DEFAULT_MAX_BYTES,
): ParseResult<ProxyHeader> {
  const sigBytes = Math.min(buf.length, PROXY_V2_SIGNATURE.length);
  if (!buf.subarray(0, sigBytes).equals(PROXY_V2_SIGNATURE.subarray(0, sigBytes))) {
    // Say where the bytes differ, never what they are: they are the client's payload.
    let at = 0;
    while (buf[at] === PROXY_V2_SIGNATURE[at]) at++;
    return fail(
      'EKL_PROXY_HEADER_SIGNATURE',
      `expected a PROXY v2 header; byte ${at} of the connection differs from the 12-byte signature` +
        (at === 0 && buf[0] === 0x16
          ? ' (it starts like a TLS record: the target group has PROXY v2 off, or the client bypassed the NLB)'
          : ''),
    );
  }
  if (buf.length < PROXY_V2_FIXED_BYTES) return { kind: 'needMore' };

  const verCmd = buf[12] as number;
  if (verCmd >> 4 !== 2) {
    return fail(
      'EKL_PROXY_HEADER_VERSION',
      `PROXY header version ${verCmd >> 4}; only version 2 is accepted`,
    );
  }
  const command = COMMANDS[(verCmd & 0x0f) as 0 | 1] as ProxyHeader['command'] | undefined;
  if (command === undefined) {
    return fail(
      'EKL_PROXY_HEADER_COMMAND',
      `PROXY v2 command 0x${(verCmd & 0x0f).toString(16)} is not LOCAL or PROXY`,
    );
  }
  const famByte = buf[13] as number;
  const knownFamily = FAMILIES[famByte];
  // A LOCAL header's address block is ignored by spec, so an odd family there is harmless.
  if (knownFamily === undefined && command === 'proxy') {
    return fail(
      'EKL_PROXY_HEADER_FAMILY',
      `PROXY v2 family/protocol byte 0x${famByte.toString(16)} is not defined`,
    );
  }
  const length = buf.readUInt16BE(14);
  const total = PROXY_V2_FIXED_BYTES + length;
  if (total > maxBytes) {
    return fail(
      'EKL_PROXY_HEADER_TOO_LARGE',
      `PROXY v2 header of ${total} bytes exceeds the ${maxBytes}-byte limit`,
    );
  }
  if (buf.length < total) return { kind: 'needMore' };

  const block = buf.subarray(PROXY_V2_FIXED_BYTES, total);
  const family = knownFamily ?? 'unspec';
  // Unknown family under LOCAL: the whole block is opaque, no TLVs are looked for.
  const addressBytes = knownFamily === undefined ? block.length : ADDRESS_BYTES[family];
  if (block.length < addressBytes) {
    return fail(
      'EKL_PROXY_HEADER_LENGTH',
      `PROXY v2 length ${length} is shorter than the ${addressBytes}-byte ${family} address block`,
    );
  }
  const header: ProxyHeader = { command, family };
  // LOCAL: the sender (the NLB's own health check) speaks for itself; the spec says the
  // address block, TLVs included, is to be ignored, so nothing in it is read or trusted.
  if (command === 'local') return { kind: 'done', value: header, consumed: total };
  readAddresses(block, family, header);

  const tlvs = readTlvs(block.subarray(addressBytes), header);
  if (tlvs !== undefined) return tlvs;
  return { kind: 'done', value: header, consumed: total };
}

function readAddresses(block: Buffer, family: ProxyHeaderFamily, header: ProxyHeader): void {
  switch (family) {
    case 'tcp4':
    case 'udp4':
      header.sourceAddress = formatIPv4(block.subarray(0, 4));
      header.destinationAddress = formatIPv4(block.subarray(4, 8));
      header.sourcePort = block.readUInt16BE(8);
      header.destinationPort = block.readUInt16BE(10);
      return;
    case 'tcp6':
    case 'udp6':
      header.sourceAddress = formatIPv6(block.subarray(0, 16));
      header.destinationAddress = formatIPv6(block.subarray(16, 32));
      header.sourcePort = block.readUInt16BE(32);
      header.destinationPort = block.readUInt16BE(34);
      return;
    case 'unix':
      header.sourceAddress = readUnixPath(block.subarray(0, UNIX_PATH_BYTES));
      header.destinationAddress = readUnixPath(block.subarray(UNIX_PATH_BYTES, 2 * UNIX_PATH_BYTES));
      return;
    case 'unspec':
      return;
  }
}

/** Walks the TLV list; returns an error result, or undefined when every TLV was well formed. */
function readTlvs(tlvs: Buffer, header: ProxyHeader): ParseResult<ProxyHeader> | undefined {
  let off = 0;
  while (off < tlvs.length) {
    if (off + 3 > tlvs.length) {
      return fail('EKL_PROXY_HEADER_LENGTH', `PROXY v2 TLV header at offset ${off} is cut short`);
    }
    const type = tlvs[off] as number;
    const len = tlvs.readUInt16BE(off + 1);
    const value = tlvs.subarray(off + 3, off + 3 + len);
    if (value.length !== len) {
      return fail(
        'EKL_PROXY_HEADER_LENGTH',
        `PROXY v2 TLV 0x${type.toString(16)} claims ${len} bytes but only ${value.length} remain`,
      );
    }
    if (type === PP2_TYPE_AWS && value.length >= 1 && value[0] === PP2_SUBTYPE_AWS_VPCE_ID) {
      const id = value.subarray(1).toString('latin1');
      if (!VPCE_ID.test(id)) {
        return fail(
          'EKL_PROXY_HEADER_TLV',
          'PROXY v2 VPC endpoint ID TLV is not a VPC endpoint ID (vpce- and 8-17 hex digits)',
        );
      }
      if (header.vpcEndpointId !== undefined && header.vpcEndpointId !== id) {
        return fail('EKL_PROXY_HEADER_TLV', 'PROXY v2 header carries two different VPC endpoint IDs');
      }
      header.vpcEndpointId = id;
    }
    // Every other TLV (ALPN, authority, CRC32C, NOOP, other AWS subtypes...) is skipped.
    off += 3 + len;
  }
  return undefined;
}

function formatIPv4(b: Buffer): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** RFC 5952 text form: lower case, no leading zeros, the longest run of 2+ zero groups as `::`. */
export function formatIPv6(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function readUnixPath(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}
