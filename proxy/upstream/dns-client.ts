/**
 * A small stub DNS client for A and AAAA lookups (RFC 1035 4, RFC 3596), used instead of
 * c-ares for two reasons: its timing is exactly what the config says (one packet per try,
 * `timeoutMs` per try, servers in order: the worst case is timeoutMs x tries x servers,
 * where c-ares lengthens the timeout on every retry), and it keeps one UDP socket per
 * address family open instead of opening and closing one per query. The socket is
 * replaced every SOCKET_QUERIES queries so the source port keeps changing (RFC 5452), and
 * an answer is taken only from the server asked, with the query's ID and question.
 * A truncated answer (TC) is asked again over TCP. Over 300 lines: query, answer checks and
 * the UDP/TCP transport of one protocol, whose checks need the query they answer.
 */
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { getServers } from 'node:dns';
import { connect, isIP, isIPv6 } from 'node:net';
import { formatIPv6 } from '../wire/proxy-protocol.js';

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
const CLASS_IN = 1;
const HEADER_LEN = 12;
const FLAG_QR = 0x8000;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const RCODE_NOERROR = 0;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_REFUSED = 5;
/** Queries one UDP socket carries before a fresh one (a fresh source port) takes over. */
const SOCKET_QUERIES = 256;

export interface DnsServer {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export interface DnsClientOptions {
  /** `host`, `host:port` or `[v6]:port`; empty = the system's resolvers (/etc/resolv.conf). */
  readonly servers: readonly string[];
  /** Per try. */
  readonly timeoutMs: number;
  /** Tries per server. */
  readonly tries: number;
}

/**
 * The error a lookup fails with; `code` uses c-ares's names, as node:dns does:
 * ENOTFOUND (NXDOMAIN), ENODATA (the name has no record of that type), ESERVFAIL,
 * EREFUSED, ETIMEOUT, EBADRESP, ECANCELLED.
 */
export class DnsQueryError extends Error {
  override name = 'DnsQueryError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** An authoritative "does not exist" (NXDOMAIN, NODATA), as opposed to DNS not answering. */
  get negative(): boolean {
    return this.code === 'ENOTFOUND' || this.code === 'ENODATA';
  }
}

/** `host` | `host:port` | `[v6]:port` | bare v6 -> address and port (53 by default). */
export function parseDnsServer(text: string): DnsServer | undefined {
  let address = text;
  let port = 53;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    address = bracketed[1] as string;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (isIP(text) === 0) {
    const i = text.lastIndexOf(':');
    if (i < 0) return undefined;
    address = text.slice(0, i);
    port = Number(text.slice(i + 1));
  }
  const family = isIP(address);
  if (family === 0 || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { address, port, family: family as 4 | 6 };
}

function formatServer(s: DnsServer): string {
  if (s.port === 53) return s.address;
  return s.family === 6 ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
}

interface Pending {
  readonly id: number;
  readonly question: Buffer;
  readonly server: DnsServer;
  readonly onAnswer: (msg: Buffer) => void;
}

/** One UDP socket and the queries waiting on it. */
class Channel {
  readonly socket: dgram.Socket;
  readonly pending = new Map<number, Pending>();
  used = 0;
  private retired = false;

  constructor(family: 4 | 6) {
    this.socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    this.socket.unref();
    this.socket.on('error', () => {
      // ICMP port unreachable and the like: the query's own timer reports it as a timeout.
    });
    this.socket.on('message', (msg, rinfo) => {
      if (msg.length < HEADER_LEN) return;
      const p = this.pending.get(msg.readUInt16BE(0));
      if (p === undefined || rinfo.port !== p.server.port || !sameAddress(rinfo.address, p.server.address))
        return;
      p.onAnswer(msg);
    });
  }

  private socketClosed = false;

  release(id: number): void {
    this.pending.delete(id);
    if (this.retired) this.closeWhenIdle();
  }

  /** Retire: close now if nothing waits on the socket, else when the last query ends. */
  closeWhenIdle(): void {
    this.retired = true;
    if (this.pending.size > 0 || this.socketClosed) return;
    this.socketClosed = true;
    this.socket.close();
  }
}

function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  return isIPv6(a) && isIPv6(b) && a.toLowerCase() === b.toLowerCase();
}

export class DnsClient {
  readonly servers: readonly DnsServer[];
  private readonly timeoutMs: number;
  private readonly tries: number;
  private readonly channels: { 4?: Channel; 6?: Channel } = {};
  private readonly cancels = new Set<(err: Error) => void>();
  private closed = false;

  constructor(options: DnsClientOptions) {
    const texts = options.servers.length > 0 ? options.servers : getServers();
    this.servers = texts.map((t) => {
      const s = parseDnsServer(t);
      if (s === undefined) throw new TypeError(`not a DNS server address: ${t}`);
      return s;
    });
    if (this.servers.length === 0) throw new TypeError('no DNS servers configured or in /etc/resolv.conf');
    this.timeoutMs = options.timeoutMs;
    this.tries = options.tries;
  }

  /** The servers as `host[:port]` (port shown when not 53). */
  get serverNames(): string[] {
    return this.servers.map(formatServer);
  }

  /** The longest a lookup can take before it fails: every try of every server times out. */
  get worstCaseMs(): number {
    return this.timeoutMs * this.tries * this.servers.length;
  }

  /** Addresses of `name`'s records of `type` (A or AAAA), in the server's order. */
  async lookup(name: string, type: typeof TYPE_A | typeof TYPE_AAAA): Promise<string[]> {
    const question = encodeQuestion(name, type);
    let last: DnsQueryError | undefined;
    for (const server of this.servers) {
      for (let t = 0; t < this.tries; t++) {
        if (this.closed) throw new DnsQueryError('ECANCELLED', `lookup of ${name} cancelled`);
        let msg: Buffer;
        try {
          msg = await this.exchange(server, question);
          if ((msg.readUInt16BE(2) & FLAG_TC) !== 0) msg = await this.exchangeTcp(server, question);
        } catch (err) {
          if (!(err instanceof DnsQueryError)) throw err;
          last = err;
          if (err.code === 'ECANCELLED') throw err;
          continue;
        }
        const answer = readAnswer(msg, question, type, name);
        if (answer instanceof DnsQueryError) {
          // A negative answer is the truth about the name; another server would say the same.
          if (answer.negative) throw answer;
          last = answer;
          // SERVFAIL / REFUSED: this server will not help now; ask the next one.
          break;
        }
        return answer;
      }
    }
    throw last ?? new DnsQueryError('ETIMEOUT', `lookup of ${name} timed out`);
  }

  /** Take no more lookups; close each socket once the queries on it have ended. */
  retire(): void {
    this.closed = true;
    this.channels[4]?.closeWhenIdle();
    this.channels[6]?.closeWhenIdle();
  }

  /** End every lookup in flight (they fail with ECANCELLED) and close the sockets. */
  close(): void {
    for (const cancel of [...this.cancels]) cancel(new DnsQueryError('ECANCELLED', 'resolver closed'));
    this.retire();
  }

  private channel(family: 4 | 6): Channel {
    let ch = this.channels[family];
    if (ch === undefined || ch.used >= SOCKET_QUERIES) {
      ch?.closeWhenIdle();
      ch = new Channel(family);
      this.channels[family] = ch;
    }
    ch.used++;
    return ch;
  }

  /** One UDP try: resolves with the server's message, or fails ETIMEOUT after timeoutMs. */
  private exchange(server: DnsServer, question: Buffer): Promise<Buffer> {
    const ch = this.channel(server.family);
    let id = randomInt(0x10000);
    while (ch.pending.has(id)) id = (id + 1) & 0xffff;
    const packet = Buffer.allocUnsafe(HEADER_LEN + question.length);
    packet.writeUInt16BE(id, 0);
    packet.writeUInt16BE(FLAG_RD, 2);
    packet.writeUInt16BE(1, 4);
    packet.writeUInt32BE(0, 6);
    packet.writeUInt16BE(0, 10);
    question.copy(packet, HEADER_LEN);
    return new Promise((resolve, reject) => {
      const done = (err: Error | undefined, msg?: Buffer): void => {
        clearTimeout(timer);
        this.cancels.delete(cancel);
        ch.release(id);
        if (err !== undefined) reject(err);
        else resolve(msg as Buffer);
      };
      const cancel = (err: Error): void => done(err);
      const timer = setTimeout(
        () =>
          done(
            new DnsQueryError('ETIMEOUT', `no answer from ${formatServer(server)} in ${this.timeoutMs} ms`),
          ),
        this.timeoutMs,
      );
      this.cancels.add(cancel);
      ch.pending.set(id, {
        id,
        question,
        server,
        onAnswer: (msg) => {
          // Someone else's answer, or a spoof: keep waiting for ours.
          if (!answers(msg, question)) return;
          done(undefined, msg);
        },
      });
      ch.socket.send(packet, server.port, server.address, (err) => {
        if (err)
          done(new DnsQueryError('ECONNREFUSED', `cannot send to ${formatServer(server)}: ${err.message}`));
      });
    });
  }

  /** The same question over TCP (RFC 7766), within the same per-try timeout. */
  private exchangeTcp(server: DnsServer, question: Buffer): Promise<Buffer> {
    const id = randomInt(0x10000);
    const packet = Buffer.allocUnsafe(2 + HEADER_LEN + question.length);
    packet.writeUInt16BE(HEADER_LEN + question.length, 0);
    packet.writeUInt16BE(id, 2);
    packet.writeUInt16BE(FLAG_RD, 4);
    packet.writeUInt16BE(1, 6);
    packet.writeUInt32BE(0, 8);
    packet.writeUInt16BE(0, 12);
    question.copy(packet, 2 + HEADER_LEN);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: server.address, port: server.port });
      let buf = Buffer.alloc(0);
      const done = (err: Error | undefined, msg?: Buffer): void => {
        clearTimeout(timer);
        this.cancels.delete(cancel);
        socket.destroy();
        if (err !== undefined) reject(err);
        else resolve(msg as Buffer);
      };
      const cancel = (err: Error): void => done(err);
      this.cancels.add(cancel);
      const timer = setTimeout(
        () =>
          done(
            new DnsQueryError(
              'ETIMEOUT',
              `no TCP answer from ${formatServer(server)} in ${this.timeoutMs} ms`,
            ),
          ),
        this.timeoutMs,
      );
      socket.on('error', (err) =>
        done(new DnsQueryError('ECONNREFUSED', `TCP to ${formatServer(server)}: ${err.message}`)),
      );
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length > 2 + 0xffff) return done(new DnsQueryError('EBADRESP', 'oversized TCP answer'));
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        if (msg.length < HEADER_LEN || msg.readUInt16BE(0) !== id || !answers(msg, question))
          return done(
            new DnsQueryError('EBADRESP', `TCP answer from ${formatServer(server)} does not match the query`),
          );
        done(undefined, msg);
      });
      socket.write(packet);
    });
  }
}

/** The question section for `name` (no trailing dot needed), type, class IN. */
function encodeQuestion(name: string, type: number): Buffer {
  const labels = name.replace(/\.$/, '').split('.');
  const parts: number[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0 || bytes.length > 63) throw new DnsQueryError('EBADNAME', `bad DNS name ${name}`);
    parts.push(bytes.length, ...bytes);
  }
  parts.push(0, type >> 8, type & 0xff, 0, CLASS_IN);
  return Buffer.from(parts);
}

/** Whether `msg` is a response to exactly `question` (QR set, one question, same name case-insensitively). */
function answers(msg: Buffer, question: Buffer): boolean {
  if ((msg.readUInt16BE(2) & FLAG_QR) === 0 || msg.readUInt16BE(4) !== 1) return false;
  const end = HEADER_LEN + question.length;
  if (msg.length < end) return false;
  for (let i = 0; i < question.length; i++) {
    let a = msg[HEADER_LEN + i] as number;
    let b = question[i] as number;
    if (a >= 0x41 && a <= 0x5a) a |= 0x20;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (a !== b) return false;
  }
  return true;
}

/** The addresses of type `type` in the answer section, or why there are none. */
function readAnswer(msg: Buffer, question: Buffer, type: number, name: string): string[] | DnsQueryError {
  const rcode = msg.readUInt16BE(2) & 0x0f;
  if (rcode === RCODE_NXDOMAIN) return new DnsQueryError('ENOTFOUND', `${name} does not exist (NXDOMAIN)`);
  if (rcode === RCODE_SERVFAIL) return new DnsQueryError('ESERVFAIL', `SERVFAIL for ${name}`);
  if (rcode === RCODE_REFUSED) return new DnsQueryError('EREFUSED', `REFUSED for ${name}`);
  if (rcode !== RCODE_NOERROR) return new DnsQueryError('EBADRESP', `rcode ${rcode} for ${name}`);
  const count = msg.readUInt16BE(6);
  let off = HEADER_LEN + question.length;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    off = skipName(msg, off);
    if (off < 0 || off + 10 > msg.length)
      return new DnsQueryError('EBADRESP', `malformed answer for ${name}`);
    const rrType = msg.readUInt16BE(off);
    const rrClass = msg.readUInt16BE(off + 2);
    const len = msg.readUInt16BE(off + 8);
    off += 10;
    if (off + len > msg.length) return new DnsQueryError('EBADRESP', `malformed answer for ${name}`);
    // CNAME records in a chain are skipped; the addresses at its end are what counts.
    if (rrClass === CLASS_IN && rrType === type) {
      if (type === TYPE_A && len === 4)
        out.push(`${msg[off]}.${msg[off + 1]}.${msg[off + 2]}.${msg[off + 3]}`);
      else if (type === TYPE_AAAA && len === 16) out.push(formatAaaa(msg.subarray(off, off + 16)));
    }
    off += len;
  }
  if (out.length === 0)
    return new DnsQueryError('ENODATA', `no ${type === TYPE_A ? 'A' : 'AAAA'} records for ${name}`);
  return out;
}

/** Offset just past a (possibly compressed) name, or -1 when it runs off the message. */
function skipName(msg: Buffer, start: number): number {
  let off = start;
  for (let labels = 0; labels < 128; labels++) {
    if (off >= msg.length) return -1;
    const len = msg[off] as number;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= msg.length ? off + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    off += 1 + len;
  }
  return -1;
}

/**
 * RFC 5952 text, with an embedded IPv4 address in dotted form for IPv4-mapped
 * (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses, as inet_ntop (and so
 * node:dns) writes them.
 */
function formatAaaa(b: Buffer): string {
  const zeros = (from: number, to: number): boolean => b.subarray(from, to).every((x) => x === 0);
  const v4 = `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return `::ffff:${v4}`;
  if (zeros(0, 12) && (b[12] !== 0 || b[13] !== 0)) return `::${v4}`;
  return formatIPv6(b);
}
