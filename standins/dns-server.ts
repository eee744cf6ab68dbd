/**
 * A real authoritative DNS server for tests and the demo: UDP and TCP on the same loopback
 * port, A and AAAA answers with a TTL, NXDOMAIN for names it does not know, and failure
 * modes (SERVFAIL, REFUSED, silence). Malformed queries are ignored, never fatal.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import {
  CLASS_IN,
  RCODE,
  TYPE_A,
  TYPE_AAAA,
  UDP_CLASSIC_MAX,
  decodeQuery,
  encodeResponse,
  type DnsQuery,
  type DnsResponse,
} from './dns-wire.js';

export interface DnsAnswerSet {
  a?: string[];
  aaaa?: string[];
  ttlSec?: number;
}

export type DnsFailMode = 'servfail' | 'refused' | 'drop' | null;

const DEFAULT_TTL_SEC = 5;
/** A TCP client that sends more than this without a complete message is cut off. */
const TCP_MAX_BUFFERED = 4 * 1024;
const TCP_IDLE_TIMEOUT_MS = 10_000;
const BIND_ATTEMPTS = 20;

export class TestDnsServer {
  readonly host: string;
  readonly port: number;
  readonly #udp: dgram.Socket;
  readonly #tcp: net.Server;
  readonly #tcpSockets = new Set<net.Socket>();
  readonly #records = new Map<string, Required<DnsAnswerSet>>();
  readonly #counts = new Map<string, number>();
  #total = 0;
  #mode: DnsFailMode = null;
  #delayMs = 0;
  #rotate = false;
  #answered = 0;
  #closed?: Promise<void>;

  private constructor(host: string, port: number, udp: dgram.Socket, tcp: net.Server) {
    this.host = host;
    this.port = port;
    this.#udp = udp;
    this.#tcp = tcp;
    udp.on('message', (msg, rinfo) => this.#onUdp(msg, rinfo));
    tcp.on('connection', (socket) => this.#onTcp(socket));
  }

  /** Binds UDP and TCP on the same port (port 0: one the OS picks that is free for both). */
  static async start(opts: { host?: string; port?: number } = {}): Promise<TestDnsServer> {
    const host = opts.host ?? '127.0.0.1';
    let lastError: unknown;
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      try {
        await bindUdp(udp, host, opts.port ?? 0);
        const port = udp.address().port;
        const tcp = net.createServer();
        try {
          await listenTcp(tcp, host, port);
        } catch (err) {
          // The OS-picked UDP port may be taken for TCP; pick again unless the port was fixed.
          udp.close();
          lastError = err;
          if (opts.port) throw err;
          continue;
        }
        return new TestDnsServer(host, port, udp, tcp);
      } catch (err) {
        lastError = err;
        try {
          udp.close();
        } catch {
          // already closed
        }
        if (opts.port) break;
      }
    }
    throw new Error(`TestDnsServer could not bind UDP and TCP on ${host}`, { cause: lastError });
  }

  /** "HOST:PORT" ("[::1]:PORT" for IPv6): for proxy config dns.servers and Resolver#setServers. */
  get server(): string {
    return net.isIPv6(this.host) ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** Replaces the records for a name (case-insensitive). Names never set answer NXDOMAIN. */
  set(name: string, answers: DnsAnswerSet): void {
    const a = answers.a ?? [];
    const aaaa = answers.aaaa ?? [];
    for (const x of a) if (!net.isIPv4(x)) throw new TypeError(`set(${name}): not an IPv4 address: ${x}`);
    for (const x of aaaa) if (!net.isIPv6(x)) throw new TypeError(`set(${name}): not an IPv6 address: ${x}`);
    this.#records.set(normalize(name), {
      a: [...a],
      aaaa: [...aaaa],
      ttlSec: answers.ttlSec ?? DEFAULT_TTL_SEC,
    });
  }

  /** The records currently served for a name, if any. */
  get(name: string): Readonly<Required<DnsAnswerSet>> | undefined {
    return this.#records.get(normalize(name));
  }

  /** Removes a name: it answers NXDOMAIN again. */
  delete(name: string): void {
    this.#records.delete(normalize(name));
  }

  /** servfail / refused answer with that rcode; drop never answers (the client times out); null is normal. */
  fail(mode: DnsFailMode): void {
    this.#mode = mode;
  }

  /** Answer every query this much later (a slow resolver); 0 = at once. */
  delay(ms: number): void {
    this.#delayMs = ms;
  }

  /** Rotate the order of the records by one on every answer, as dnsmasq and many resolvers do. */
  rotate(on: boolean): void {
    this.#rotate = on;
  }

  /** Well-formed queries received (for one name, or in total), whatever the answer. */
  queryCount(name?: string): number {
    return name === undefined ? this.#total : (this.#counts.get(normalize(name)) ?? 0);
  }

  /** Closes both sockets and every open TCP connection. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      for (const s of this.#tcpSockets) s.destroy();
      await Promise.all([
        new Promise<void>((resolve) => this.#udp.close(() => resolve())),
        new Promise<void>((resolve) => this.#tcp.close(() => resolve())),
      ]);
    })();
    return this.#closed;
  }

  #onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const query = decodeQuery(msg);
    if (!query) return;
    const response = this.#answer(query);
    if (!response) return;
    const wire = encodeResponse(query, response, query.ednsUdpSize ?? UDP_CLASSIC_MAX);
    const send = (): void =>
      this.#udp.send(wire, rinfo.port, rinfo.address, () => {
        // A send error (client gone) is the client's problem, not the server's.
      });
    if (this.#delayMs > 0) setTimeout(send, this.#delayMs).unref();
    else send();
  }

  #onTcp(socket: net.Socket): void {
    this.#tcpSockets.add(socket);
    socket.setTimeout(TCP_IDLE_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#tcpSockets.delete(socket));
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) break;
        const msg = buffered.subarray(2, 2 + len);
        buffered = buffered.subarray(2 + len);
        const query = decodeQuery(msg);
        if (!query) continue;
        const response = this.#answer(query);
        if (!response) continue;
        const wire = encodeResponse(query, response);
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(wire.length, 0);
        socket.write(Buffer.concat([prefix, wire]));
      }
      if (buffered.length > TCP_MAX_BUFFERED) socket.destroy();
    });
  }

  /** Undefined means: send nothing. */
  #answer(query: DnsQuery): DnsResponse | undefined {
    this.#total++;
    this.#counts.set(query.name, (this.#counts.get(query.name) ?? 0) + 1);
    switch (this.#mode) {
      case 'drop':
        return undefined;
      case 'servfail':
        return { rcode: RCODE.servFail, answers: [] };
      case 'refused':
        return { rcode: RCODE.refused, answers: [] };
      case null:
        break;
    }
    const records = this.#records.get(query.name);
    if (!records) return { rcode: RCODE.nxDomain, answers: [] };
    if (query.qclass !== CLASS_IN) return { rcode: RCODE.refused, answers: [] };
    const ttlSec = records.ttlSec;
    const shift = this.#rotate ? this.#answered++ : 0;
    const rotated = (list: string[]): string[] =>
      list.length < 2 ? list : list.map((_, i) => list[(i + shift) % list.length] as string);
    if (query.qtype === TYPE_A) {
      return {
        rcode: RCODE.noError,
        answers: rotated(records.a).map((address) => ({ type: TYPE_A, address, ttlSec })),
      };
    }
    if (query.qtype === TYPE_AAAA) {
      return {
        rcode: RCODE.noError,
        answers: rotated(records.aaaa).map((address) => ({ type: TYPE_AAAA, address, ttlSec })),
      };
    }
    // The name exists but has no records of that type: NOERROR with no answers (NODATA).
    return { rcode: RCODE.noError, answers: [] };
  }
}

function normalize(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

function bindUdp(socket: dgram.Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', reject);
      socket.on('error', () => {
        // ICMP errors on a UDP server socket are not fatal.
      });
      resolve();
    });
  });
}

function listenTcp(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
