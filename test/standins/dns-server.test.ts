import dgram from 'node:dgram';
import { promises as dnsPromises } from 'node:dns';
import net from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { TestDnsServer } from '../../standins/dns-server.js';
import { encodeName, readName, decodeQuery } from '../../standins/dns-wire.js';

const NAME = '3F1B2C9D0E8A7F6B5C4D3E2F1A0B9C8D.gr7.us-east-1.eks.amazonaws.com';

let servers: TestDnsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function start(opts?: { host?: string }): Promise<TestDnsServer> {
  const s = await TestDnsServer.start(opts);
  servers.push(s);
  return s;
}

function resolverFor(
  s: TestDnsServer,
  opts: { timeout?: number; tries?: number } = {},
): dnsPromises.Resolver {
  const r = new dnsPromises.Resolver({ timeout: opts.timeout ?? 500, tries: opts.tries ?? 1 });
  r.setServers([s.server]);
  return r;
}

function query(name: string, qtype: number, id = 0x1234): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, encodeName(name), tail]);
}

function udpExchange(s: TestDnsServer, msg: Buffer, waitMs = 300): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      resolve(undefined);
    }, waitMs);
    sock.on('message', (reply) => {
      clearTimeout(timer);
      sock.close();
      resolve(reply);
    });
    sock.send(msg, s.port, s.host);
  });
}

describe('TestDnsServer with node c-ares resolver', () => {
  it('answers A and AAAA with the TTL it was given, case-insensitively', async () => {
    const s = await start();
    s.set(NAME, { a: ['127.0.20.1', '127.0.20.2'], aaaa: ['fd00::1'], ttlSec: 7 });
    const r = resolverFor(s);
    const a = await r.resolve4(NAME.toLowerCase(), { ttl: true });
    expect(a).toEqual([
      { address: '127.0.20.1', ttl: 7 },
      { address: '127.0.20.2', ttl: 7 },
    ]);
    expect(await r.resolve6(NAME)).toEqual(['fd00::1']);
    expect(s.queryCount(NAME)).toBe(2);
    expect(s.queryCount()).toBe(2);
    expect(s.server).toBe(`127.0.0.1:${s.port}`);
  });

  it('answers NXDOMAIN for unknown names and NODATA for a missing type', async () => {
    const s = await start();
    s.set(NAME, { a: ['127.0.20.1'] });
    const r = resolverFor(s);
    await expect(r.resolve4('nope.example.internal')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(r.resolve6(NAME)).rejects.toMatchObject({ code: 'ENODATA' });
  });

  it('replaces a record set on set(), as EKS does when ENIs rotate', async () => {
    const s = await start();
    const r = resolverFor(s);
    s.set(NAME, { a: ['127.0.20.1'], ttlSec: 1 });
    expect(await r.resolve4(NAME)).toEqual(['127.0.20.1']);
    s.set(NAME, { a: ['127.0.20.2', '127.0.20.3'], ttlSec: 1 });
    expect(await r.resolve4(NAME)).toEqual(['127.0.20.2', '127.0.20.3']);
    s.delete(NAME);
    await expect(r.resolve4(NAME)).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('fails on demand: SERVFAIL, REFUSED, and silence (the client times out)', async () => {
    const s = await start();
    s.set(NAME, { a: ['127.0.20.1'] });
    const r = resolverFor(s, { timeout: 200, tries: 1 });
    s.fail('servfail');
    await expect(r.resolve4(NAME)).rejects.toMatchObject({ code: 'ESERVFAIL' });
    s.fail('refused');
    await expect(r.resolve4(NAME)).rejects.toMatchObject({ code: 'EREFUSED' });
    s.fail('drop');
    const t0 = Date.now();
    await expect(r.resolve4(NAME)).rejects.toMatchObject({ code: 'ETIMEOUT' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    s.fail(null);
    expect(await r.resolve4(NAME)).toEqual(['127.0.20.1']);
  });

  it('truncates a large UDP answer and serves it in full over TCP (c-ares retries there)', async () => {
    const s = await start();
    const many = Array.from({ length: 120 }, (_, i) => `127.0.20.${i + 1}`);
    s.set(NAME, { a: many });
    const r = resolverFor(s, { timeout: 1000 });
    expect(await r.resolve4(NAME)).toEqual(many);

    // And the raw UDP reply has TC set and no answers.
    const reply = await udpExchange(s, query(NAME, 1));
    expect(reply).toBeDefined();
    expect(reply!.readUInt16BE(2) & 0x0200).toBe(0x0200);
    expect(reply!.readUInt16BE(6)).toBe(0);
  });

  it('serves several length-prefixed queries on one TCP connection', async () => {
    const s = await start();
    s.set(NAME, { a: ['127.0.20.9'], ttlSec: 3 });
    const sock = net.connect(s.port, s.host);
    const frames: Buffer[] = [];
    const got = new Promise<void>((resolve) => {
      let buf = Buffer.alloc(0);
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          frames.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (frames.length === 2) resolve();
      });
    });
    const frame = (m: Buffer): Buffer => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);
    // Both queries in one write, the second split across two writes.
    const q2 = frame(query('unknown.example', 1, 2));
    sock.write(Buffer.concat([frame(query(NAME, 1, 1)), q2.subarray(0, 5)]));
    setTimeout(() => sock.write(q2.subarray(5)), 20);
    await got;
    sock.destroy();
    const [first, second] = frames;
    expect(first!.readUInt16BE(0)).toBe(1);
    expect(first!.readUInt16BE(2) & 0xf).toBe(0);
    expect(first!.readUInt16BE(6)).toBe(1);
    // Answer name is a compression pointer to the question (offset 12).
    const qEnd = 12 + encodeName(NAME).length + 4;
    expect(first!.readUInt16BE(qEnd)).toBe(0xc00c);
    expect(first!.readUInt32BE(qEnd + 6)).toBe(3);
    expect([...first!.subarray(qEnd + 12, qEnd + 16)]).toEqual([127, 0, 20, 9]);
    expect(second!.readUInt16BE(0)).toBe(2);
    expect(second!.readUInt16BE(2) & 0xf).toBe(3);
  });

  it('ignores malformed datagrams and keeps answering', async () => {
    const s = await start();
    s.set(NAME, { a: ['127.0.20.1'] });
    const junk = [
      Buffer.alloc(0),
      Buffer.from([1, 2, 3]),
      Buffer.alloc(12), // qdcount 0
      Buffer.concat([query(NAME, 1).subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]), // self-pointer
      Buffer.concat([query(NAME, 1).subarray(0, 12), Buffer.from([63, 1, 2])]), // label runs off the end
      Buffer.alloc(9000, 0xff), // larger than any query
    ];
    for (const j of junk) expect(await udpExchange(s, j, 50)).toBeUndefined();
    expect(s.queryCount()).toBe(0);
    expect(await resolverFor(s).resolve4(NAME)).toEqual(['127.0.20.1']);
  });

  it('cuts off a TCP client that streams garbage', async () => {
    const s = await start();
    const sock = net.connect(s.port, s.host);
    const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
    sock.on('error', () => {});
    // Declares a 65535-byte message, then sends more than the server buffers.
    sock.write(Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(8000, 0x41)]));
    await closed;
    s.set(NAME, { a: ['127.0.20.1'] });
    expect(await resolverFor(s).resolve4(NAME)).toEqual(['127.0.20.1']);
  });

  it('listens on IPv6 loopback too', async () => {
    const s = await start({ host: '::1' });
    s.set(NAME, { a: ['127.0.20.1'] });
    expect(s.server).toBe(`[::1]:${s.port}`);
    expect(await resolverFor(s).resolve4(NAME)).toEqual(['127.0.20.1']);
  });

  it('rejects records that are not addresses of the right family', async () => {
    const s = await start();
    expect(() => s.set(NAME, { a: ['fd00::1'] })).toThrow(/IPv4/);
    expect(() => s.set(NAME, { aaaa: ['10.0.0.1'] })).toThrow(/IPv6/);
  });
});

describe('DNS wire decoding (property)', () => {
  it('never throws on arbitrary bytes, and names stay within 255 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const buf = Buffer.from(bytes);
        decodeQuery(buf);
        const n = readName(buf, 0);
        if (n) expect(n.name.length).toBeLessThanOrEqual(255);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes any query it could have encoded', () => {
    const label = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
    fc.assert(
      fc.property(
        fc.array(label, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 65535 }),
        (labels, id) => {
          const q = decodeQuery(query(labels.join('.'), 28, id));
          expect(q).toMatchObject({ id, name: labels.join('.'), qtype: 28, qclass: 1 });
        },
      ),
    );
  });
});
