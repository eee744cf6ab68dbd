import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatIPv6,
  parseProxyHeader,
  PROXY_V2_SIGNATURE,
  type ProxyHeader,
} from '../../proxy/wire/proxy-protocol.js';
import { encodeIPv6, encodeProxyHeader } from './proxy-header-encoder.js';
import type { ParseResult } from '../../proxy/wire/parse-result.js';

const SIG = PROXY_V2_SIGNATURE.toString('hex');
const VPCE = 'vpce-0123456789abcdef0';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

function errorCode(r: ParseResult<ProxyHeader>): string | undefined {
  return r.kind === 'error' ? r.error.code : undefined;
}

describe('parseProxyHeader: hand-assembled headers (not produced by encodeProxyHeader)', () => {
  it('reads an NLB-style IPv4 header with the PrivateLink TLV and leaves the ClientHello bytes alone', () => {
    const vpceTlv = `ea 0017 01 ${Buffer.from(VPCE).toString('hex')}`;
    const header = hex(`${SIG} 21 11 0026 0a000001 0a000002 d431 01bb ${vpceTlv}`);
    const clientHello = hex('16 0301 0005 0100000100');
    const r = parseProxyHeader(Buffer.concat([header, clientHello]));
    expect(r).toEqual({
      kind: 'done',
      consumed: header.length,
      value: {
        command: 'proxy',
        family: 'tcp4',
        sourceAddress: '10.0.0.1',
        destinationAddress: '10.0.0.2',
        sourcePort: 0xd431,
        destinationPort: 443,
        vpcEndpointId: VPCE,
      },
    });
  });

  it('reads an IPv6 header without TLVs', () => {
    const src = '20010db8000000000000000000000001';
    const dst = 'fd000000000000000000000000000002';
    const r = parseProxyHeader(hex(`${SIG} 21 21 0024 ${src} ${dst} 3039 01bb`));
    expect(r).toEqual({
      kind: 'done',
      consumed: 16 + 36,
      value: {
        command: 'proxy',
        family: 'tcp6',
        sourceAddress: '2001:db8::1',
        destinationAddress: 'fd00::2',
        sourcePort: 12345,
        destinationPort: 443,
      },
    });
  });

  it('accepts the LOCAL header an NLB sends on health checks (no addresses, no TLVs)', () => {
    const r = parseProxyHeader(hex(`${SIG} 20 00 0000 474554`));
    expect(r).toEqual({ kind: 'done', consumed: 16, value: { command: 'local', family: 'unspec' } });
  });

  it('LOCAL ignores the address block and its TLVs (an endpoint ID there is not read)', () => {
    const r = parseProxyHeader(hex(`${SIG} 20 11 0014 7f000001 7f000002 0001 0002 ea 0005 01 76706365`));
    expect(r).toEqual({ kind: 'done', consumed: 16 + 20, value: { command: 'local', family: 'tcp4' } });
    // A TLV that would be malformed under PROXY is not looked at under LOCAL.
    const broken = parseProxyHeader(hex(`${SIG} 20 11 000e 7f000001 7f000002 0001 0002 ea 0009`));
    expect(broken).toEqual({ kind: 'done', consumed: 16 + 14, value: { command: 'local', family: 'tcp4' } });
  });

  it('LOCAL with an undefined family byte is accepted and its block skipped whole', () => {
    const r = parseProxyHeader(hex(`${SIG} 20 f7 0003 ffffff`));
    expect(r).toEqual({ kind: 'done', consumed: 19, value: { command: 'local', family: 'unspec' } });
  });

  it('skips unknown TLVs before and after the PrivateLink one, and other AWS subtypes', () => {
    const r = parseProxyHeader(
      hex(
        `${SIG} 21 11 002f 01020304 05060708 0001 0002` +
          ` 01 0002 6832` + // ALPN "h2"
          ` ea 0003 02 ffff` + // AWS subtype 2: not ours
          ` ea 0012 01 ${Buffer.from('vpce-0123456789ab').toString('hex')}` + // the endpoint id
          ` 04 0000`, // NOOP, empty
      ),
    );
    expect(r.kind).toBe('done');
    if (r.kind === 'done') {
      expect(r.value.vpcEndpointId).toBe('vpce-0123456789ab');
      expect(r.value.sourceAddress).toBe('1.2.3.4');
      expect(r.consumed).toBe(16 + 0x2f);
    }
  });

  it('reads a UNIX-family header', () => {
    const h = encodeProxyHeader({
      command: 'proxy',
      family: 'unix',
      sourceAddress: '/run/a.sock',
      destinationAddress: '/run/b.sock',
    });
    expect(h.length).toBe(16 + 216);
    expect(parseProxyHeader(h)).toMatchObject({
      kind: 'done',
      value: { family: 'unix', sourceAddress: '/run/a.sock', destinationAddress: '/run/b.sock' },
    });
  });
});

describe('parseProxyHeader: rejections', () => {
  it('rejects a wrong signature from the first differing byte, without waiting for more', () => {
    expect(errorCode(parseProxyHeader(hex('16 03 01')))).toBe('EKL_PROXY_HEADER_SIGNATURE'); // TLS record
    expect(errorCode(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')))).toBe(
      'EKL_PROXY_HEADER_SIGNATURE',
    ); // v1 text header
    expect(errorCode(parseProxyHeader(hex('0d0a0d0a00')))).toBeUndefined();
    expect(errorCode(parseProxyHeader(hex('0d0a0d0a01')))).toBe('EKL_PROXY_HEADER_SIGNATURE');
  });

  it('names where the bytes differ, never the bytes themselves', () => {
    const secret = Buffer.from('SECRETTOKEN');
    const r = parseProxyHeader(secret);
    const message = r.kind === 'error' ? r.error.message : '';
    expect(message).toBe(
      'expected a PROXY v2 header; byte 0 of the connection differs from the 12-byte signature',
    );
    expect(message).not.toMatch(/SECRET|534543524554/i);
    const r2 = parseProxyHeader(Buffer.concat([PROXY_V2_SIGNATURE.subarray(0, 5), secret]));
    expect(r2.kind === 'error' && r2.error.message).toMatch(/byte 5 of the connection differs/);
    const tls = parseProxyHeader(hex('16 03 01 02 00'));
    expect(tls.kind === 'error' && tls.error.message).toMatch(/starts like a TLS record/);
  });

  it('rejects version 1 and undefined commands and families', () => {
    expect(errorCode(parseProxyHeader(hex(`${SIG} 11 11 000c`)))).toBe('EKL_PROXY_HEADER_VERSION');
    expect(errorCode(parseProxyHeader(hex(`${SIG} 22 11 000c`)))).toBe('EKL_PROXY_HEADER_COMMAND');
    expect(errorCode(parseProxyHeader(hex(`${SIG} 21 13 000c`)))).toBe('EKL_PROXY_HEADER_FAMILY');
    expect(errorCode(parseProxyHeader(hex(`${SIG} 21 41 000c`)))).toBe('EKL_PROXY_HEADER_FAMILY');
  });

  it('rejects a length shorter than the address block, and TLVs running past the end', () => {
    expect(errorCode(parseProxyHeader(hex(`${SIG} 21 11 0008 0a000001 0a000002`)))).toBe(
      'EKL_PROXY_HEADER_LENGTH',
    );
    expect(
      errorCode(parseProxyHeader(hex(`${SIG} 21 11 0011 0a000001 0a000002 0001 0002 ea 0009 01 6162`))),
    ).toBe('EKL_PROXY_HEADER_LENGTH');
    expect(errorCode(parseProxyHeader(hex(`${SIG} 21 11 000e 0a000001 0a000002 0001 0002 ea 00`)))).toBe(
      'EKL_PROXY_HEADER_LENGTH',
    );
  });

  it('rejects oversized headers as soon as the length field is known', () => {
    const fixedOnly = hex(`${SIG} 21 11 0400`); // claims 1024 bytes of body
    expect(errorCode(parseProxyHeader(fixedOnly))).toBe('EKL_PROXY_HEADER_TOO_LARGE');
    const big = encodeProxyHeader({
      command: 'proxy',
      family: 'tcp4',
      sourceAddress: '1.1.1.1',
      destinationAddress: '2.2.2.2',
      extraTlvs: [{ type: 0x05, value: Buffer.alloc(200) }],
    });
    expect(errorCode(parseProxyHeader(big, 128))).toBe('EKL_PROXY_HEADER_TOO_LARGE');
    expect(parseProxyHeader(big, big.length).kind).toBe('done');
  });

  it('rejects a VPC endpoint ID that is empty, not vpce- and hex, or given twice differently, never echoing it', () => {
    const base = { command: 'proxy' as const, family: 'tcp4' as const, sourceAddress: '1.1.1.1' };
    const tlv = (id: Buffer) => ({ type: 0xea, value: Buffer.concat([Buffer.from([0x01]), id]) });
    for (const bad of [
      Buffer.alloc(0),
      Buffer.from('vpce-\n1'),
      Buffer.from('vpce ab'),
      Buffer.from([0xc3, 0xa9]),
      Buffer.from('vpce-SECRETTOKEN'),
      Buffer.from('vpce-0123abc'),
    ]) {
      const r = parseProxyHeader(encodeProxyHeader({ ...base, extraTlvs: [tlv(bad)] }));
      expect(errorCode(r)).toBe('EKL_PROXY_HEADER_TLV');
      expect(r.kind === 'error' && r.error.message).not.toContain('SECRET');
    }
    const twice = encodeProxyHeader({
      ...base,
      vpcEndpointId: 'vpce-0000000a',
      extraTlvs: [tlv(Buffer.from('vpce-0000000b'))],
    });
    expect(errorCode(parseProxyHeader(twice))).toBe('EKL_PROXY_HEADER_TLV');
    const same = encodeProxyHeader({
      ...base,
      vpcEndpointId: 'vpce-0000000a',
      extraTlvs: [tlv(Buffer.from('vpce-0000000a'))],
    });
    expect(parseProxyHeader(same)).toMatchObject({ kind: 'done', value: { vpcEndpointId: 'vpce-0000000a' } });
  });

  it('asks for more on every truncation of a valid header, and errors carry source downstream', () => {
    const h = encodeProxyHeader({
      command: 'proxy',
      family: 'tcp6',
      sourceAddress: 'fd00::1',
      destinationAddress: 'fd00::2',
      sourcePort: 1,
      destinationPort: 443,
      vpcEndpointId: VPCE,
    });
    for (let n = 0; n < h.length; n++) expect(parseProxyHeader(h.subarray(0, n)).kind).toBe('needMore');
    const bad = parseProxyHeader(hex('00'));
    expect(bad.kind === 'error' && bad.error.source).toBe('downstream');
  });
});

describe('IPv6 text form', () => {
  it('formats per RFC 5952', () => {
    const cases: [string, string][] = [
      ['00000000000000000000000000000000', '::'],
      ['00000000000000000000000000000001', '::1'],
      ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
      ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
      ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'],
      ['fe800000000000000000000000000000', 'fe80::'],
      ['00000000000000000000ffff0a000001', '::ffff:a00:1'],
    ];
    for (const [h, text] of cases) expect(formatIPv6(hex(h))).toBe(text);
    expect(encodeIPv6('::ffff:10.0.0.1').toString('hex')).toBe('00000000000000000000ffff0a000001');
  });
});

// --- property-based -------------------------------------------------------------------

const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6();
const port = fc.integer({ min: 0, max: 65535 });
const vpceId = fc.stringMatching(/^vpce-[0-9a-f]{8,17}$/);
const unknownTlv = fc.record({
  type: fc.integer({ min: 0, max: 255 }).filter((t) => t !== 0xea),
  value: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
});

const headerArb: fc.Arbitrary<ProxyHeader & { extraTlvs: { type: number; value: Buffer }[] }> = fc.oneof(
  fc.record({
    command: fc.constant('proxy' as const),
    family: fc.constantFrom('tcp4' as const, 'udp4' as const),
    sourceAddress: ipv4,
    destinationAddress: ipv4,
    sourcePort: port,
    destinationPort: port,
    vpcEndpointId: fc.option(vpceId, { nil: undefined }),
    extraTlvs: fc.array(unknownTlv, { maxLength: 4 }),
  }),
  fc.record({
    command: fc.constant('proxy' as const),
    family: fc.constantFrom('tcp6' as const, 'udp6' as const),
    sourceAddress: ipv6,
    destinationAddress: ipv6,
    sourcePort: port,
    destinationPort: port,
    vpcEndpointId: fc.option(vpceId, { nil: undefined }),
    extraTlvs: fc.array(unknownTlv, { maxLength: 4 }),
  }),
  fc.record({
    command: fc.constantFrom('local' as const, 'proxy' as const),
    family: fc.constant('unspec' as const),
    vpcEndpointId: fc.option(vpceId, { nil: undefined }),
    extraTlvs: fc.array(unknownTlv, { maxLength: 4 }),
  }),
);

function canonical(h: ProxyHeader): ProxyHeader {
  const out: ProxyHeader = { command: h.command, family: h.family };
  if (h.command === 'proxy' && h.family !== 'unspec') {
    const norm = (a: string | undefined) => (a !== undefined && isIPv6(a) ? formatIPv6(encodeIPv6(a)) : a);
    out.sourceAddress = norm(h.sourceAddress);
    out.destinationAddress = norm(h.destinationAddress);
    out.sourcePort = h.sourcePort;
    out.destinationPort = h.destinationPort;
  }
  // LOCAL: the whole block, TLVs included, is ignored by spec.
  if (h.command === 'proxy' && h.vpcEndpointId !== undefined) out.vpcEndpointId = h.vpcEndpointId;
  return out;
}

describe('parseProxyHeader: properties', () => {
  it('round-trips any header, ignoring trailing bytes', () => {
    fc.assert(
      fc.property(headerArb, fc.uint8Array({ maxLength: 32 }), (h, rest) => {
        const { extraTlvs: _drop, ...plain } = h;
        const enc = encodeProxyHeader(h);
        const r = parseProxyHeader(Buffer.concat([enc, Buffer.from(rest)]), 4096);
        expect(r).toEqual({ kind: 'done', consumed: enc.length, value: canonical(plain) });
      }),
      { numRuns: 500 },
    );
  });

  it('gives the same answer however the bytes are split across reads', () => {
    fc.assert(
      fc.property(
        headerArb,
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 40 }),
        (h, cuts) => {
          const enc = encodeProxyHeader(h);
          const whole = parseProxyHeader(enc, 4096);
          let seen = 0;
          let result: ParseResult<ProxyHeader> = { kind: 'needMore' };
          for (let i = 0; result.kind === 'needMore'; i++) {
            seen = Math.min(enc.length, seen + (cuts[i % cuts.length] as number));
            result = parseProxyHeader(enc.subarray(0, seen), 4096);
            if (seen === enc.length) break;
          }
          expect(result).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws and stays within bounds on arbitrary or corrupted input', () => {
    const arbitrary = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
    const withSig = fc
      .uint8Array({ maxLength: 300 })
      .map((a) => Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from(a)]));
    const corrupted = fc
      .tuple(headerArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
      .map(([h, flips]) => {
        const b = Buffer.from(encodeProxyHeader(h));
        for (const [pos, v] of flips) b[12 + (pos % (b.length - 12))] = v;
        return b;
      });
    fc.assert(
      fc.property(fc.oneof(arbitrary, withSig, corrupted), fc.integer({ min: 16, max: 600 }), (buf, max) => {
        const r = parseProxyHeader(buf, max);
        if (r.kind === 'done') {
          expect(r.consumed).toBeLessThanOrEqual(buf.length);
          expect(r.consumed).toBeLessThanOrEqual(max);
          expect(r.consumed).toBeGreaterThanOrEqual(16);
        }
        if (r.kind === 'error') expect(r.error.code).toMatch(/^EKL_PROXY_HEADER_/);
        if (r.kind === 'needMore') expect(buf.length).toBeLessThan(max);
      }),
      { numRuns: 2000 },
    );
  });
});
