import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClientHelloReader, parseClientHello, type ClientHello } from '../../proxy/wire/client-hello.js';
import type { ParseResult } from '../../proxy/wire/parse-result.js';
import { captureClientHello, closeServer } from './helpers.js';

// This file's loopback block: 127.0.101.0/24.
const HOST = '127.0.101.1';
const EKS = '0123456789abcdef0123456789abcdef.gr7.us-east-1.eks.amazonaws.com';

/** An independent ClientHello encoder, so the tests do not trust the parser to build inputs. */
function buildHello(o: {
  sni?: string | null;
  alpn?: string[];
  padding?: number;
  sessionIdLen?: number;
  extraExtensions?: Buffer[];
}): Buffer {
  const exts: Buffer[] = [];
  if (o.sni !== null && o.sni !== undefined) {
    const name = Buffer.from(o.sni, 'latin1');
    const entry = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
    exts.push(ext(0, Buffer.concat([u16(entry.length), entry])));
  }
  if (o.alpn) {
    const list = Buffer.concat(o.alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])));
    exts.push(ext(16, Buffer.concat([u16(list.length), list])));
  }
  if (o.padding) exts.push(ext(21, Buffer.alloc(o.padding)));
  exts.push(...(o.extraExtensions ?? []));
  const extBytes = Buffer.concat(exts);
  const sid = o.sessionIdLen ?? 32;
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7),
    Buffer.from([sid]),
    Buffer.alloc(sid, 1),
    u16(4),
    Buffer.from([0x13, 0x01, 0x13, 0x02]),
    Buffer.from([1, 0]),
    u16(extBytes.length),
    extBytes,
  ]);
  const hs = Buffer.concat([Buffer.from([1]), u24(body.length), body]);
  return reframe(hs, [hs.length]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function u24(n: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntBE(n, 0, 3);
  return b;
}
function ext(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(data.length), data]);
}

/** Split a handshake message into TLS records of the given fragment sizes (last size repeats). */
function reframe(handshake: Buffer, sizes: number[]): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  let i = 0;
  while (pos < handshake.length) {
    const n = Math.min(sizes[Math.min(i, sizes.length - 1)] as number, handshake.length - pos);
    out.push(Buffer.from([22, 3, 1]), u16(n), handshake.subarray(pos, pos + n));
    pos += n;
    i++;
  }
  return Buffer.concat(out);
}

/** The handshake message carried by a single-record hello. */
function handshakeOf(records: Buffer): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  while (off < records.length) {
    const len = records.readUInt16BE(off + 3);
    parts.push(records.subarray(off + 5, off + 5 + len));
    off += 5 + len;
  }
  return Buffer.concat(parts);
}

function feed(chunks: Buffer[], maxBytes?: number): ParseResult<ClientHello> {
  const reader = new ClientHelloReader(maxBytes);
  let r: ParseResult<ClientHello> = { kind: 'needMore' };
  for (const c of chunks) {
    r = reader.push(c);
    if (r.kind !== 'needMore') return r;
  }
  return r;
}

function sniOf(r: ParseResult<ClientHello>): string | undefined {
  if (r.kind !== 'done')
    throw new Error(`expected done, got ${r.kind}: ${r.kind === 'error' ? r.error.message : ''}`);
  return r.value.sni;
}

function errorCode(r: ParseResult<ClientHello>): string {
  if (r.kind !== 'error') throw new Error(`expected error, got ${r.kind}`);
  return r.error.code;
}

describe('ClientHello from real TLS clients', () => {
  let nodeHello: Buffer;
  let pqHello: Buffer;

  beforeAll(async () => {
    nodeHello = await captureClientHello(HOST, { servername: EKS, ALPNProtocols: ['h2', 'http/1.1'] });
    pqHello = await captureClientHello(HOST, { servername: EKS, ecdhCurve: 'X25519MLKEM768:X25519' });
  });

  it("takes the SNI from node's OpenSSL ClientHello, and only the SNI (ALPN is skipped over)", () => {
    const r = parseClientHello(nodeHello);
    expect(r).toEqual({
      kind: 'done',
      consumed: nodeHello.length,
      value: { sni: EKS, handshakeLength: nodeHello.length - 5 },
    });
  });

  it('parses a post-quantum (X25519MLKEM768) ClientHello of over 1.5 KB', () => {
    expect(pqHello.length).toBeGreaterThan(1500);
    expect(sniOf(parseClientHello(pqHello))).toBe(EKS);
  });

  it('parses the ClientHello the real kubectl (Go) sends, hybrid post-quantum key share included', async () => {
    const server = net.createServer();
    server.listen({ host: HOST, port: 0 });
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const captured = new Promise<Buffer>((resolve) => {
      server.once('connection', (socket) => {
        const reader = new ClientHelloReader();
        socket.on('data', (d: Buffer) => {
          if (reader.push(d).kind !== 'needMore') {
            resolve(reader.bytes);
            socket.destroy();
          }
        });
      });
    });
    const kubectl = spawn(
      '/usr/bin/kubectl',
      [
        '--kubeconfig=/dev/null',
        `--server=https://${HOST}:${port}`,
        `--tls-server-name=${EKS}`,
        '--insecure-skip-tls-verify',
        '--token=test',
        '--request-timeout=5s',
        'get',
        '--raw',
        '/version',
      ],
      { stdio: 'ignore' },
    );
    const hello = await captured;
    kubectl.kill();
    await closeServer(server);
    expect(hello.length).toBeGreaterThan(1200);
    const r = parseClientHello(hello);
    expect(r).toMatchObject({
      kind: 'done',
      value: { sni: EKS },
    });
  });

  it('gets the same answer when the hello arrives one byte per TCP segment', () => {
    const chunks = [...pqHello].map((b) => Buffer.from([b]));
    expect(sniOf(feed(chunks))).toBe(EKS);
  });

  it('gets the same answer when the handshake spans many TLS records, header split too', () => {
    const hs = handshakeOf(pqHello);
    for (const sizes of [[1], [2], [3], [5, 100], [700], [1, 1, 1, 4000]]) {
      const records = reframe(hs, sizes);
      const r = parseClientHello(records);
      expect(r).toMatchObject({ kind: 'done', consumed: records.length });
      expect(sniOf(r)).toBe(EKS);
    }
  });

  it('asks for more on every strict prefix', () => {
    for (let n = 0; n < nodeHello.length; n += 7) {
      expect(parseClientHello(nodeHello.subarray(0, n)).kind).toBe('needMore');
    }
  });

  it('reports consumed at the end of the hello when more bytes follow', () => {
    const withMore = Buffer.concat([nodeHello, Buffer.from([20, 3, 3, 0, 1, 1])]);
    expect(parseClientHello(withMore)).toMatchObject({ kind: 'done', consumed: nodeHello.length });
  });
});

describe('ClientHello edge cases', () => {
  it('returns no SNI when the client sent none', () => {
    const r = parseClientHello(buildHello({ sni: null, alpn: ['h2'] }));
    expect(r).toMatchObject({ kind: 'done' });
    expect(r.kind === 'done' && r.value.sni).toBeUndefined();
  });

  it('lower-cases the SNI and drops a trailing dot', () => {
    expect(sniOf(parseClientHello(buildHello({ sni: 'API.Example.COM.' })))).toBe('api.example.com');
  });

  it('accepts a hello with no extensions at all', () => {
    const base = buildHello({ sni: null });
    // Remove the (empty) extensions block: 2 bytes of length at the end.
    const hs = handshakeOf(base);
    const body = hs.subarray(4, hs.length - 2);
    const msg = Buffer.concat([Buffer.from([1]), u24(body.length), body]);
    expect(parseClientHello(reframe(msg, [msg.length]))).toMatchObject({ kind: 'done' });
  });

  it.each([
    ['plaintext HTTP', Buffer.from('GET /version HTTP/1.1\r\nHost: x\r\n\r\n'), /plaintext HTTP/],
    [
      'a PROXY v2 header while mode is off',
      Buffer.from('0d0a0d0a000d0a515549540a2111000c', 'hex'),
      /PROXY protocol v2 header arrived but proxyProtocol.mode is off/,
    ],
    ['a PROXY v1 header', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), /PROXY protocol v1/],
    ['an SSLv2 hello', Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01, 0, 0x15]), /SSLv2/],
    ['an alert record', Buffer.from([21, 3, 3, 0, 2, 2, 40]), /an alert record arrived/],
    ['a record version that is not TLS', Buffer.from([22, 2, 0, 0, 10]), /not TLS/],
    ['an empty handshake record', Buffer.from([22, 3, 1, 0, 0]), /empty handshake record/],
    ['an oversized record', Buffer.from([22, 3, 1, 0x40, 0x01]), /exceeds 16384/],
    [
      'a handshake that is not ClientHello',
      reframe(Buffer.from([2, 0, 0, 45, ...Buffer.alloc(45)]), [49]),
      /not a ClientHello/,
    ],
    ['a body too short', reframe(Buffer.from([1, 0, 0, 3, 3, 3, 0]), [7]), /too short/],
  ])('refuses %s as invalid', (_name, bytes, message) => {
    const r = parseClientHello(bytes);
    expect(errorCode(r)).toBe('EKL_CLIENT_HELLO_INVALID');
    expect(r.kind === 'error' && r.error.message).toMatch(message);
  });

  it('refuses malformed bodies', () => {
    const good = handshakeOf(buildHello({ sni: 'a.example' }));
    const cases: [string, Buffer][] = [];
    const badSession = Buffer.from(good);
    badSession[4 + 2 + 32] = 33;
    cases.push(['session id > 32', badSession]);
    const badExtLen = Buffer.from(good);
    const extLenAt = 4 + 2 + 32 + 1 + 32 + 2 + 4 + 2;
    badExtLen.writeUInt16BE(badExtLen.readUInt16BE(extLenAt) + 1, extLenAt);
    cases.push(['extensions length mismatch', badExtLen]);
    const dupSni = handshakeOf(
      buildHello({ sni: 'a.example', extraExtensions: [ext(0, Buffer.from([0, 4, 0, 0, 1, 0x61]))] }),
    );
    cases.push(['duplicate server_name', dupSni]);
    cases.push(['bad hostname bytes', handshakeOf(buildHello({ sni: 'a b\u0000.example' }))]);
    for (const [name, hs] of cases) {
      const r = parseClientHello(reframe(hs, [hs.length]));
      expect(errorCode(r), name).toBe('EKL_CLIENT_HELLO_INVALID');
    }
  });

  it('tells a repeated extension from the same extension in the next hello, over many hellos', () => {
    // The duplicate check numbers its parses and clears its table every 255: cross that often.
    const once = buildHello({ sni: 'a.example', alpn: ['h2'], padding: 8 });
    const twice = buildHello({
      sni: 'a.example',
      alpn: ['h2'],
      extraExtensions: [ext(16, Buffer.from([0, 3, 2, 0x68, 0x32]))],
    });
    for (let i = 0; i < 1000; i++) {
      expect(sniOf(parseClientHello(once)), `hello ${i}`).toBe('a.example');
      if (i % 97 === 0)
        expect(errorCode(parseClientHello(twice)), `hello ${i}`).toBe('EKL_CLIENT_HELLO_INVALID');
    }
  });

  it('refuses a handshake record after which a non-handshake record arrives mid-hello', () => {
    const hs = handshakeOf(buildHello({ sni: 'a.example' }));
    const first = reframe(hs.subarray(0, 10), [10]);
    const bytes = Buffer.concat([first, Buffer.from([23, 3, 3, 0, 1, 0])]);
    expect(parseClientHello(bytes)).toMatchObject({
      kind: 'error',
      error: { code: 'EKL_CLIENT_HELLO_INVALID' },
    });
  });

  it('is bounded by maxBytes: a hello declaring more is refused before it arrives', () => {
    const big = buildHello({ sni: 'a.example', padding: 6000 });
    expect(parseClientHello(big, 16_384).kind).toBe('done');
    const r = parseClientHello(big.subarray(0, 20), 4096);
    expect(errorCode(r)).toBe('EKL_CLIENT_HELLO_TOO_LARGE');
    // Many small records add up past the limit too.
    const manyRecords = reframe(handshakeOf(big), [10]);
    expect(errorCode(parseClientHello(manyRecords, 8192))).toBe('EKL_CLIENT_HELLO_TOO_LARGE');
  });

  it('looks at each byte once, however the hello is cut into records and segments', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3000 }),
        fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 12 }),
        (padding, recordSizes, segmentSizes) => {
          const records = reframe(handshakeOf(buildHello({ sni: 'a.example', padding })), recordSizes);
          const reader = new ClientHelloReader(65_536);
          let r: ParseResult<ClientHello> = { kind: 'needMore' };
          for (let pos = 0, i = 0; pos < records.length; i++) {
            const n = segmentSizes[i % segmentSizes.length]!;
            r = reader.push(records.subarray(pos, pos + n));
            pos += n;
          }
          expect(r.kind).toBe('done');
          // Constant work per byte: the scanner touched every byte exactly once.
          expect(reader.scanned).toBe(records.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('parses a hello of 1-byte records at the size limit in linear time, and refuses one byte more', () => {
    const max = 16_384;
    // 1-byte records: 6 bytes on the wire per handshake byte; fill the limit exactly.
    const target = Math.floor(max / 6);
    const base = handshakeOf(buildHello({ sni: 'a.example', padding: 100 })).length;
    const hs = handshakeOf(buildHello({ sni: 'a.example', padding: 100 + target - base }));
    expect(hs.length).toBe(target);
    const wire = reframe(hs, [1]);
    expect(wire.length).toBeLessThanOrEqual(max);

    const reader = new ClientHelloReader(max);
    let r: ParseResult<ClientHello> = { kind: 'needMore' };
    const t0 = performance.now();
    for (let i = 0; i < wire.length; i++) r = reader.push(wire.subarray(i, i + 1));
    const ms = performance.now() - t0;
    expect(r).toMatchObject({ kind: 'done', value: { sni: 'a.example' }, consumed: wire.length });
    expect(reader.scanned).toBe(wire.length);
    expect(reader.bytes.equals(wire)).toBe(true);
    // The quadratic parser took ~200 ms for a 2 KB hello; linear is well under a millisecond
    // per KB even on a busy machine.
    expect(ms).toBeLessThan(100);

    const over = reframe(handshakeOf(buildHello({ sni: 'a.example', padding: 101 + target - base })), [1]);
    const r2 = feed(
      Array.from({ length: over.length }, (_, i) => over.subarray(i, i + 1)),
      max,
    );
    expect(errorCode(r2)).toBe('EKL_CLIENT_HELLO_TOO_LARGE');
  });

  it('bounds the number of records at a large maxBytes', () => {
    const hs = handshakeOf(buildHello({ sni: 'a.example', padding: 5000 }));
    const r = parseClientHello(reframe(hs, [1]), 65_536);
    expect(errorCode(r)).toBe('EKL_CLIENT_HELLO_INVALID');
    expect(r.kind === 'error' && r.error.message).toMatch(/more than 4096 TLS records/);
  });

  it('keeps its answer once it has one, and forwards every byte received', () => {
    const hello = buildHello({ sni: 'a.example' });
    const reader = new ClientHelloReader();
    expect(reader.push(hello).kind).toBe('done');
    const early = Buffer.from([23, 3, 3, 0, 1, 9]);
    expect(reader.push(early)).toMatchObject({ kind: 'done', consumed: hello.length });
    expect(reader.bytes.equals(Buffer.concat([hello, early]))).toBe(true);
    // take() hands them over (to the splice) and keeps none.
    expect(reader.take().equals(Buffer.concat([hello, early]))).toBe(true);
    expect(reader.length).toBe(0);
    expect(reader.bytes.length).toBe(0);
    // Not even the handshake message, a view into the taken bytes (connections keep their reader).
    expect(reader.heldBytes).toBe(0);
  });
});

describe('ClientHello parser under fuzzing', () => {
  const helloArb = fc
    .record({
      sni: fc.option(fc.domain(), { nil: null }),
      alpn: fc.option(
        fc.array(fc.constantFrom('h2', 'http/1.1', 'acme-tls/1'), { minLength: 1, maxLength: 3 }),
        {
          nil: undefined,
        },
      ),
      padding: fc.integer({ min: 0, max: 3000 }),
      sessionIdLen: fc.integer({ min: 0, max: 32 }),
    })
    .map((o) => ({ ...o, bytes: buildHello(o as Parameters<typeof buildHello>[0]) }));

  it('never throws on arbitrary bytes, and never claims more than it was given', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.integer({ min: 512, max: 65_536 }), (arr, max) => {
        const buf = Buffer.from(arr);
        const r = parseClientHello(buf, max);
        if (r.kind === 'done') expect(r.consumed).toBeLessThanOrEqual(Math.min(buf.length, max));
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on arbitrary bytes behind a valid record header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 1200 }), (arr) => {
        const body = Buffer.from(arr);
        body[0] = 1;
        const r = parseClientHello(reframe(body, [body.length]));
        expect(['done', 'needMore', 'error']).toContain(r.kind);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on mutated valid hellos', () => {
    fc.assert(
      fc.property(
        helloArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (h, flips) => {
          const buf = Buffer.from(h.bytes);
          for (const [pos, val] of flips) buf[pos % buf.length] = val;
          parseClientHello(buf);
          parseClientHello(buf.subarray(0, flips[0]![0] % buf.length));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('finds the same SNI however the hello is split into records and segments', () => {
    fc.assert(
      fc.property(
        helloArb,
        fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }),
        (h, recordSizes, segmentSizes) => {
          const records = reframe(handshakeOf(h.bytes), recordSizes);
          const segments: Buffer[] = [];
          for (let pos = 0, i = 0; pos < records.length; i++) {
            const n = segmentSizes[i % segmentSizes.length]!;
            segments.push(records.subarray(pos, pos + n));
            pos += n;
          }
          const r = feed(segments, 65_536);
          expect(r.kind).toBe('done');
          if (r.kind !== 'done') return;
          expect(r.consumed).toBe(records.length);
          expect(r.value.sni).toBe(h.sni === null ? undefined : h.sni.toLowerCase());
        },
      ),
      { numRuns: 500 },
    );
  });
});
