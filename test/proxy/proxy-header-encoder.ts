/**
 * A PROXY v2 encoder for the tests and the e2e NLB stand-in: it writes what an NLB writes, so
 * the parser (proxy/wire/proxy-protocol.ts) is tested against bytes it did not make.
 */
import { isIPv4, isIPv6 } from 'node:net';
import {
  PP2_SUBTYPE_AWS_VPCE_ID,
  PP2_TYPE_AWS,
  PROXY_V2_SIGNATURE,
  UNIX_PATH_BYTES,
  type ProxyHeader,
  type ProxyHeaderFamily,
} from '../../proxy/wire/proxy-protocol.js';

/** The protocol/family byte of each family, written from the spec (the parser reads its own table). */
const FAMILY_BYTES: Record<ProxyHeaderFamily, number> = {
  unspec: 0x00,
  tcp4: 0x11,
  udp4: 0x12,
  tcp6: 0x21,
  udp6: 0x22,
  unix: 0x31,
};

function encodeIPv4(address: string): Buffer {
  if (!isIPv4(address)) throw new TypeError(`not an IPv4 address: ${address}`);
  return Buffer.from(address.split('.').map(Number));
}

export function encodeIPv6(address: string): Buffer {
  if (!isIPv6(address)) throw new TypeError(`not an IPv6 address: ${address}`);
  let text = address.split('%')[0] as string;
  const out = Buffer.alloc(16);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = (v4[1] as string).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : zeros).fill('0'), ...tailGroups];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function encodeUnixPath(path: string): Buffer {
  const out = Buffer.alloc(UNIX_PATH_BYTES);
  const bytes = Buffer.from(path, 'utf8');
  if (bytes.length >= UNIX_PATH_BYTES)
    throw new TypeError(`unix path longer than ${UNIX_PATH_BYTES - 1} bytes`);
  bytes.copy(out);
  return out;
}

function encodeAddresses(h: ProxyHeader): Buffer {
  const ports = (): Buffer => {
    const p = Buffer.alloc(4);
    p.writeUInt16BE(h.sourcePort ?? 0, 0);
    p.writeUInt16BE(h.destinationPort ?? 0, 2);
    return p;
  };
  switch (h.family) {
    case 'tcp4':
    case 'udp4':
      return Buffer.concat([
        encodeIPv4(h.sourceAddress ?? '0.0.0.0'),
        encodeIPv4(h.destinationAddress ?? '0.0.0.0'),
        ports(),
      ]);
    case 'tcp6':
    case 'udp6':
      return Buffer.concat([
        encodeIPv6(h.sourceAddress ?? '::'),
        encodeIPv6(h.destinationAddress ?? '::'),
        ports(),
      ]);
    case 'unix':
      return Buffer.concat([
        encodeUnixPath(h.sourceAddress ?? ''),
        encodeUnixPath(h.destinationAddress ?? ''),
      ]);
    case 'unspec':
      return Buffer.alloc(0);
  }
}

function encodeTlv(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(3);
  head[0] = type;
  head.writeUInt16BE(value.length, 1);
  return Buffer.concat([head, value]);
}

/**
 * Build a PROXY v2 header the way an NLB does: the address block for the family, then the
 * PrivateLink TLV when `vpcEndpointId` is set, then `extraTlvs` in order.
 */
export function encodeProxyHeader(
  h: ProxyHeader & { extraTlvs?: readonly { type: number; value: Buffer }[] },
): Buffer {
  const parts: Buffer[] = [encodeAddresses(h)];
  if (h.vpcEndpointId !== undefined) {
    parts.push(
      encodeTlv(
        PP2_TYPE_AWS,
        Buffer.concat([Buffer.from([PP2_SUBTYPE_AWS_VPCE_ID]), Buffer.from(h.vpcEndpointId, 'latin1')]),
      ),
    );
  }
  for (const tlv of h.extraTlvs ?? []) parts.push(encodeTlv(tlv.type, tlv.value));
  const body = Buffer.concat(parts);
  if (body.length > 0xffff) throw new RangeError('PROXY v2 header body longer than 65535 bytes');
  const fixed = Buffer.alloc(4);
  fixed[0] = 0x20 | (h.command === 'local' ? 0x0 : 0x1);
  fixed[1] = FAMILY_BYTES[h.family];
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([PROXY_V2_SIGNATURE, fixed, body]);
}
