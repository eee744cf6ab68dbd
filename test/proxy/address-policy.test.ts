import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../common/cidr.js';
import { AddressPolicy } from '../../proxy/upstream/address-policy.js';

describe('AddressPolicy', () => {
  it('allows addresses inside the blocks and nothing outside', () => {
    const p = AddressPolicy.fromCidrs(['10.0.0.0/16', 'fd00:1234::/32']);
    expect(p.allows('10.0.5.9')).toBe(true);
    expect(p.allows('10.1.0.1')).toBe(false);
    expect(p.allows('8.8.8.8')).toBe(false);
    expect(p.allows('fd00:1234::5')).toBe(true);
    expect(p.allows('fd00:1235::5')).toBe(false);
    expect(p.judge('8.8.8.8')).toBe('outside');
  });

  it.each([
    '127.0.0.1',
    '127.9.9.9',
    '169.254.1.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'ff02::1',
  ])('never lets a broad block open the special address %s', (address) => {
    const broad = AddressPolicy.fromCidrs(['0.0.0.0/0', '::/0']);
    expect(broad.allows(address)).toBe(false);
    expect(broad.judge(address)).toBe('special');
  });

  it('never allows IMDS, not even when a block names link-local exactly', () => {
    const p = AddressPolicy.fromCidrs(['169.254.169.0/24', '169.254.169.254/32', 'fd00:ec2::/64']);
    expect(p.allows('169.254.169.254')).toBe(false);
    expect(p.judge('169.254.169.254')).toBe('imds');
    expect(p.allows('fd00:ec2::254')).toBe(false);
    expect(p.allows('::ffff:169.254.169.254')).toBe(false);
    expect(p.allows('169.254.169.1')).toBe(true);
  });

  it('allows loopback only through a block that lies entirely inside 127/8', () => {
    expect(AddressPolicy.fromCidrs(['127.0.10.0/24']).allows('127.0.10.7')).toBe(true);
    expect(AddressPolicy.fromCidrs(['127.0.10.0/24']).allows('127.0.11.7')).toBe(false);
    expect(AddressPolicy.fromCidrs(['126.0.0.0/7']).allows('127.0.0.1')).toBe(false);
    expect(AddressPolicy.fromCidrs(['126.0.0.0/7']).allows('126.0.0.1')).toBe(true);
    expect(AddressPolicy.fromCidrs(['::1/128']).allows('::1')).toBe(true);
  });

  it('judges IPv4-mapped IPv6 addresses as IPv4', () => {
    const p = AddressPolicy.fromCidrs(['10.0.0.0/8']);
    expect(p.allows('::ffff:10.1.2.3')).toBe(true);
    expect(p.allows('::ffff:a01:203')).toBe(true);
    expect(p.allows('::ffff:11.1.2.3')).toBe(false);
    expect(AddressPolicy.fromCidrs(['::/0']).allows('::ffff:127.0.0.1')).toBe(false);
    expect(AddressPolicy.fromCidrs(['::ffff:0:0/96']).allows('10.0.0.1')).toBe(true);
  });

  it('refuses NAT64 addresses through broad blocks (they would smuggle IPv4)', () => {
    expect(AddressPolicy.fromCidrs(['::/0']).allows('64:ff9b::a9fe:a9fe')).toBe(false);
  });

  it('masks host bits in a block and rejects text that is not an address', () => {
    const p = AddressPolicy.fromCidrs(['10.0.0.5/8']);
    expect(p.allows('10.200.0.1')).toBe(true);
    expect(p.allows('not-an-ip')).toBe(false);
    expect(p.judge('fe80::1%eth0')).toBe('invalid');
  });

  it('throws EKL_CIDR_INVALID naming the bad block', () => {
    expect(() => AddressPolicy.fromCidrs(['10.0.0.0/33'])).toThrow(/"10.0.0.0\/33" is not a CIDR block/);
    expect(() => AddressPolicy.fromCidrs(['10.0.0.0'])).toThrowError(
      expect.objectContaining({ code: 'EKL_CIDR_INVALID' }),
    );
  });

  it('parses IPv6 in every spelling to the same number', () => {
    expect(parseAddress('::ffff:1.2.3.4')).toBe(parseAddress('1.2.3.4'));
    expect(parseAddress('0:0:0:0:0:ffff:102:304')).toBe(parseAddress('1.2.3.4'));
    expect(parseAddress('fd00::1')).toBe(parseAddress('fd00:0:0:0:0:0:0:1'));
    expect(parseAddress('1:2:3:4:5:6:7:8')).toBe(0x00010002000300040005000600070008n);
    expect(parseAddress('1:2:3:4:5:6:1.2.3.4')).toBe(0x00010002000300040005000601020304n);
  });

  it('agrees with a plain prefix comparison for random IPv4 blocks outside the special ranges', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 8, max: 32 }), fc.ipV4(), (base, bits, probe) => {
        const toNum = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        const inside = (toNum(base) & mask) >>> 0 === (toNum(probe) & mask) >>> 0;
        const special = /^(0|127|169\.254|22[4-9]|2[3-5]\d)\./.test(probe);
        const p = AddressPolicy.fromCidrs([`${base}/${bits}`]);
        if (!special) expect(p.allows(probe)).toBe(inside);
        if (!inside) expect(p.allows(probe)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
