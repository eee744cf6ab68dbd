/**
 * DNS wire format (RFC 1035), just what an authoritative test server needs: decode one
 * query, encode one response with A / AAAA answers. Pure and bounded: a malformed query
 * decodes to `undefined`, never throws.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const TYPE_OPT = 41;
export const CLASS_IN = 1;

export const RCODE = { noError: 0, formErr: 1, servFail: 2, nxDomain: 3, notImp: 4, refused: 5 } as const;
export type Rcode = (typeof RCODE)[keyof typeof RCODE];

/** Classic DNS over UDP without EDNS: anything bigger is truncated (TC) and retried over TCP. */
export const UDP_CLASSIC_MAX = 512;
const HEADER_LEN = 12;
const MAX_NAME_LEN = 255;
const MAX_LABEL_LEN = 63;
/** Queries are small; a larger datagram is not a query we will answer. */
export const MAX_QUERY_LEN = 4096;

export interface DnsQuery {
  readonly id: number;
  /** Recursion desired: echoed back in the response. */
  readonly rd: boolean;
  /** Lower-cased, no trailing dot. */
  readonly name: string;
  readonly qtype: number;
  readonly qclass: number;
  /** The question section exactly as received (case preserved), echoed in the response. */
  readonly questionBytes: Buffer;
  /** UDP payload size advertised in an EDNS OPT record, if the query carried one. */
  readonly ednsUdpSize?: number;
}

export interface DnsResponse {
  readonly rcode: Rcode;
  readonly answers: readonly { type: typeof TYPE_A | typeof TYPE_AAAA; address: string; ttlSec: number }[];
}

/** Decodes a query. Returns undefined for anything that is not exactly one well-formed question. */
export function decodeQuery(msg: Buffer): DnsQuery | undefined {
  if (msg.length < HEADER_LEN || msg.length > MAX_QUERY_LEN) return undefined;
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  const isResponse = (flags & 0x8000) !== 0;
  const opcode = (flags >> 11) & 0xf;
  if (isResponse || opcode !== 0) return undefined;
  if (msg.readUInt16BE(4) !== 1 || msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 0) return undefined;
  const arCount = msg.readUInt16BE(10);

  const q = readName(msg, HEADER_LEN);
  if (!q || q.end + 4 > msg.length) return undefined;
  const qtype = msg.readUInt16BE(q.end);
  const qclass = msg.readUInt16BE(q.end + 2);
  const questionEnd = q.end + 4;
  const ednsUdpSize = arCount > 0 ? readOptUdpSize(msg, questionEnd, arCount) : undefined;
  if (ednsUdpSize === null) return undefined;
  return {
    id,
    rd: (flags & 0x0100) !== 0,
    name: q.name,
    qtype,
    qclass,
    questionBytes: msg.subarray(HEADER_LEN, questionEnd),
    ...(ednsUdpSize === undefined ? {} : { ednsUdpSize }),
  };
}

/**
 * Encodes a response. Answer names are compression pointers to the question name (offset 12).
 * When `maxLen` is given and the answers do not fit, returns a truncated (TC) response with none.
 */
export function encodeResponse(query: DnsQuery, response: DnsResponse, maxLen?: number): Buffer {
  const withOpt = query.ednsUdpSize !== undefined;
  const answers = response.answers.map(encodeAnswer);
  const optLen = withOpt ? 11 : 0;
  const fullLen = HEADER_LEN + query.questionBytes.length + sum(answers.map((a) => a.length)) + optLen;
  const truncated = maxLen !== undefined && fullLen > maxLen;
  const kept = truncated ? [] : answers;

  const header = Buffer.alloc(HEADER_LEN);
  header.writeUInt16BE(query.id, 0);
  // QR=1, opcode 0, AA=1, TC, RD echoed, RA=0, rcode.
  const flags = 0x8000 | 0x0400 | (truncated ? 0x0200 : 0) | (query.rd ? 0x0100 : 0) | response.rcode;
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(kept.length, 6);
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(withOpt ? 1 : 0, 10);
  return Buffer.concat([header, query.questionBytes, ...kept, ...(withOpt ? [encodeOpt()] : [])]);
}

function encodeAnswer(answer: DnsResponse['answers'][number]): Buffer {
  const rdata = answer.type === TYPE_A ? ipv4Bytes(answer.address) : ipv6Bytes(answer.address);
  const rr = Buffer.alloc(12 + rdata.length);
  rr.writeUInt16BE(0xc000 | HEADER_LEN, 0); // pointer to the question's name
  rr.writeUInt16BE(answer.type, 2);
  rr.writeUInt16BE(CLASS_IN, 4);
  rr.writeUInt32BE(answer.ttlSec >>> 0, 6);
  rr.writeUInt16BE(rdata.length, 10);
  rdata.copy(rr, 12);
  return rr;
}

/** An EDNS OPT pseudo-record advertising 1232 bytes (the DNS flag day value), no options. */
function encodeOpt(): Buffer {
  const opt = Buffer.alloc(11);
  opt.writeUInt8(0, 0);
  opt.writeUInt16BE(TYPE_OPT, 1);
  opt.writeUInt16BE(1232, 3);
  return opt;
}

/**
 * Reads a (possibly compressed) name. Bounded: at most 255 bytes of name, pointers must go
 * strictly backwards (so no loops), labels at most 63 bytes.
 */
export function readName(msg: Buffer, start: number): { name: string; end: number } | undefined {
  const labels: string[] = [];
  let pos = start;
  let end: number | undefined;
  let length = 0;
  let lowestPointerTarget = start;
  for (;;) {
    if (pos >= msg.length) return undefined;
    const len = msg[pos]!;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) return undefined;
      const target = ((len & 0x3f) << 8) | msg[pos + 1]!;
      if (target >= lowestPointerTarget) return undefined;
      lowestPointerTarget = target;
      end ??= pos + 2;
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) return undefined;
    if (len === 0) {
      end ??= pos + 1;
      break;
    }
    if (len > MAX_LABEL_LEN || pos + 1 + len > msg.length) return undefined;
    length += len + 1;
    if (length > MAX_NAME_LEN) return undefined;
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), end };
}

/** Returns the OPT record's UDP size, undefined when there is none, null when the section is malformed. */
function readOptUdpSize(msg: Buffer, start: number, count: number): number | undefined | null {
  let pos = start;
  for (let i = 0; i < count; i++) {
    const n = readName(msg, pos);
    if (!n || n.end + 10 > msg.length) return null;
    const type = msg.readUInt16BE(n.end);
    const klass = msg.readUInt16BE(n.end + 2);
    const rdLen = msg.readUInt16BE(n.end + 8);
    if (type === TYPE_OPT) return Math.max(UDP_CLASSIC_MAX, klass);
    pos = n.end + 10 + rdLen;
    if (pos > msg.length) return null;
  }
  return undefined;
}

/** Encodes a name as labels (no compression): used by tests to build queries. */
export function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([
    ...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])),
    Buffer.from([0]),
  ]);
}

function ipv4Bytes(address: string): Buffer {
  if (!isIPv4(address)) throw new TypeError(`not an IPv4 address: ${address}`);
  return Buffer.from(address.split('.').map(Number));
}

function ipv6Bytes(address: string): Buffer {
  if (!isIPv6(address)) throw new TypeError(`not an IPv6 address: ${address}`);
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const expand = (g: string[]): string[] =>
    g.flatMap((x) => {
      if (!x.includes('.')) return [x];
      const b = ipv4Bytes(x);
      return [((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16)];
    });
  const he = expand(h);
  const te = expand(t);
  const zeros = tail === undefined ? [] : Array<string>(8 - he.length - te.length).fill('0');
  const all = [...he, ...zeros, ...te];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
