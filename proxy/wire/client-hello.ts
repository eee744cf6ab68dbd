/**
 * Incremental, pure TLS ClientHello parser (RFC 8446 4.1.2, RFC 5246 6.2.1, RFC 6066 3,
 * RFC 7301). It reads the TLS records at the start of a connection, joins the handshake
 * fragments they carry (a ClientHello may span several records, and each record several
 * TCP segments) and takes the SNI, the only field routing uses (ALPN and the rest are
 * skipped over unparsed). It never throws on hostile input: every
 * outcome is a ParseResult, and it looks at no more than `maxBytes` bytes. Over 300 lines:
 * one parser, record layer to SNI, each bound beside the field it limits.
 */
import type { ParseResult } from './parse-result.js';
import { ProxyError } from '../errors.js';

export interface ClientHello {
  /** host_name from server_name: lower-cased, no trailing dot. Absent when the client sent none. */
  readonly sni?: string;
  /** Size of the handshake message (header and body), without record headers. */
  readonly handshakeLength: number;
}

/** @default 16384, as clientHello.maxBytes */
export const DEFAULT_CLIENT_HELLO_MAX_BYTES = 16_384;

const RECORD_HEADER_LEN = 5;
const HANDSHAKE_HEADER_LEN = 4;
/** RFC 8446 5.1: a plaintext record carries at most 2^14 bytes. */
const MAX_RECORD_LEN = 16_384;
const CONTENT_TYPE_HANDSHAKE = 22;
const HANDSHAKE_TYPE_CLIENT_HELLO = 1;
/** version(2) random(32) session_id(1) cipher_suites(2+2) compression(1+1) */
const MIN_CLIENT_HELLO_BODY = 41;
const EXT_SERVER_NAME = 0;
const SNI_HOST_NAME = 0;
const MAX_HOSTNAME_LEN = 255;

/**
 * Records one ClientHello may span. Real clients send one; a hello of 1-byte records at the
 * default maxBytes (16384) is 2730 records, so at defaults the byte bound comes first. The
 * scan is linear either way; this bounds the per-record bookkeeping at large maxBytes.
 */
export const MAX_CLIENT_HELLO_RECORDS = 4096;

class Malformed extends Error {}

/** Parse a ClientHello from the bytes a connection has received so far (pure, one shot). */
export function parseClientHello(
  buf: Buffer,
  maxBytes: number = DEFAULT_CLIENT_HELLO_MAX_BYTES,
): ParseResult<ClientHello> {
  return new ClientHelloReader(maxBytes).push(buf);
}

/**
 * Reads a connection's chunks as they arrive and keeps its place between pushes: every
 * byte is looked at once (record headers and handshake fragments are copied into small
 * fixed buffers, the message into one buffer of its declared size), so a hello dribbled
 * in one byte per record or per segment costs the same per byte as one in a single
 * segment. `bytes` is everything received, to forward upstream unchanged.
 */
export class ClientHelloReader {
  private chunks: Buffer[] = [];
  private total = 0;
  /** Bytes the scanner has examined (for the test that the work per byte is constant). */
  scanned = 0;
  /** Absolute offset of the next unscanned byte. */
  private offset = 0;
  // Plain arrays, not Buffers: a Buffer per header per connection costs a backing store each.
  private readonly recordHeader = [0, 0, 0, 0, 0];
  private recordHeaderFilled = 0;
  /** Body bytes of the current record still to come; 0 between records. */
  private recordLeft = 0;
  private records = 0;
  private readonly handshakeHeader = [0, 0, 0, 0];
  private handshakeHeaderFilled = 0;
  /** The whole handshake message (header and body), once its length is known. */
  private message: Buffer | undefined;
  private messageFilled = 0;
  private outcome: ParseResult<ClientHello> | undefined;

  constructor(private readonly maxBytes: number = DEFAULT_CLIENT_HELLO_MAX_BYTES) {}

  /** Add the next chunk; once the answer is known (done or error) it stays the answer. */
  push(chunk: Buffer): ParseResult<ClientHello> {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.total += chunk.length;
    }
    if (this.outcome !== undefined) return this.outcome;
    const r = this.scan(chunk);
    if (r !== undefined) this.outcome = r;
    return r ?? { kind: 'needMore' };
  }

  /** Number of bytes received so far. */
  get length(): number {
    return this.total;
  }

  /** All bytes received so far, joined once. */
  get bytes(): Buffer {
    if (this.chunks.length !== 1) {
      const joined = Buffer.concat(this.chunks, this.total);
      this.chunks = [joined];
      return joined;
    }
    return this.chunks[0] as Buffer;
  }

  /**
   * All bytes received so far, joined; the reader is empty after this (length 0). Once the
   * answer is known it also lets go of the handshake message, a view into those bytes: a
   * connection keeps its reader for life, and an idle one must not keep its ClientHello.
   */
  take(): Buffer {
    const all = this.bytes;
    this.chunks = [];
    this.total = 0;
    if (this.outcome !== undefined) this.message = undefined;
    return all;
  }

  /** Bytes the reader still references: what it was given and not taken, and the message. */
  get heldBytes(): number {
    return this.total + (this.message?.length ?? 0);
  }

  /** Scan `chunk` from where the last push stopped; undefined = need more. */
  private scan(chunk: Buffer): ParseResult<ClientHello> | undefined {
    let i = 0;
    for (;;) {
      if (this.recordLeft === 0) {
        // Between records, or inside a record header.
        if (this.recordHeaderFilled === 0) {
          if (this.offset + RECORD_HEADER_LEN > this.maxBytes)
            return tooLarge(this.maxBytes, 'the records so far do not complete it');
          if (this.records >= MAX_CLIENT_HELLO_RECORDS)
            return invalid(`ClientHello spread over more than ${MAX_CLIENT_HELLO_RECORDS} TLS records`);
        }
        if (i >= chunk.length) return undefined;
        if (this.recordHeaderFilled === 0) this.records++;
        const n = Math.min(RECORD_HEADER_LEN - this.recordHeaderFilled, chunk.length - i);
        copyInto(this.recordHeader, this.recordHeaderFilled, chunk, i, n);
        // The content type is judged from its first byte: a non-TLS client is refused at once.
        if (this.recordHeaderFilled === 0 && chunk[i] !== CONTENT_TYPE_HANDSHAKE) {
          this.scanned += 1;
          return invalid(
            this.offset === 0
              ? `not a TLS ClientHello: ${describeNonTls(this.head())}`
              : `${recordTypeName(chunk[i] as number)} arrived before the ClientHello was complete`,
          );
        }
        this.recordHeaderFilled += n;
        this.scanned += n;
        this.offset += n;
        i += n;
        if (this.recordHeaderFilled < RECORD_HEADER_LEN) return undefined;
        this.recordHeaderFilled = 0;
        const h = this.recordHeader;
        if (h[1] !== 3 || (h[2] as number) > 4) return invalid('record version is not TLS (3.0-3.4)');
        const recordLen = ((h[3] as number) << 8) | (h[4] as number);
        if (recordLen === 0) return invalid('empty handshake record');
        if (recordLen > MAX_RECORD_LEN) return invalid(`record length ${recordLen} exceeds 16384`);
        const recordEnd = this.offset + recordLen;
        if (recordEnd > this.maxBytes) return tooLarge(this.maxBytes, `a record ends at byte ${recordEnd}`);
        this.recordLeft = recordLen;
        continue;
      }
      if (i >= chunk.length) return undefined;
      const n = Math.min(this.recordLeft, chunk.length - i);
      const r = this.takeFragment(chunk, i, n);
      this.recordLeft -= n;
      this.offset += n;
      i += n;
      if (r !== undefined) return r;
    }
  }

  /** Feed `n` handshake bytes of the current record, from chunk[at]. */
  private takeFragment(chunk: Buffer, at: number, n: number): ParseResult<ClientHello> | undefined {
    let i = at;
    const end = at + n;
    if (this.message === undefined) {
      const h = Math.min(HANDSHAKE_HEADER_LEN - this.handshakeHeaderFilled, end - i);
      copyInto(this.handshakeHeader, this.handshakeHeaderFilled, chunk, i, h);
      this.handshakeHeaderFilled += h;
      this.scanned += h;
      i += h;
      if (this.handshakeHeaderFilled < HANDSHAKE_HEADER_LEN) return undefined;
      const header = this.handshakeHeader;
      if (header[0] !== HANDSHAKE_TYPE_CLIENT_HELLO)
        return invalid('the first handshake message is not a ClientHello');
      const bodyLen = ((header[1] as number) << 16) | ((header[2] as number) << 8) | (header[3] as number);
      if (bodyLen < MIN_CLIENT_HELLO_BODY)
        return invalid(`ClientHello body of ${bodyLen} bytes is too short`);
      const messageLen = HANDSHAKE_HEADER_LEN + bodyLen;
      if (messageLen + RECORD_HEADER_LEN > this.maxBytes)
        return tooLarge(this.maxBytes, `it declares ${messageLen} bytes`);
      // The usual case, one record in one segment: a view, no copy.
      if (h === HANDSHAKE_HEADER_LEN && end - at >= messageLen) {
        this.message = chunk.subarray(at, at + messageLen);
        this.messageFilled = messageLen;
        this.scanned += messageLen - HANDSHAKE_HEADER_LEN;
        i = at + messageLen;
      } else {
        this.message = Buffer.allocUnsafe(messageLen);
        this.message.set(header, 0);
        this.messageFilled = HANDSHAKE_HEADER_LEN;
      }
    }
    const message = this.message;
    const m = Math.min(message.length - this.messageFilled, end - i);
    if (m > 0) chunk.copy(message, this.messageFilled, i, i + m);
    this.messageFilled += m;
    this.scanned += m;
    i += m;
    if (this.messageFilled < message.length) return undefined;
    if (i < end || this.recordLeft - n > 0)
      return invalid('extra handshake bytes follow the ClientHello in the same record');
    try {
      return { kind: 'done', value: parseBody(message), consumed: this.offset + n };
    } catch (err) {
      if (err instanceof Malformed) return invalid(`malformed ClientHello: ${err.message}`);
      throw err;
    }
  }

  /** The first bytes received (at most 12), for naming what a non-TLS client sent. */
  private head(): Buffer {
    const first = this.chunks[0] as Buffer;
    return first.length >= 12 || this.chunks.length === 1
      ? first
      : Buffer.concat(this.chunks, Math.min(this.total, 12));
  }
}

/** `n` bytes of `chunk` from `from` into `to` at `at`. */
function copyInto(to: number[], at: number, chunk: Buffer, from: number, n: number): void {
  for (let k = 0; k < n; k++) to[at + k] = chunk[from + k] as number;
}

function invalid(message: string): ParseResult<ClientHello> {
  return {
    kind: 'error',
    error: new ProxyError('EKL_CLIENT_HELLO_INVALID', message, { source: 'downstream' }),
  };
}

function tooLarge(maxBytes: number, detail: string): ParseResult<ClientHello> {
  return {
    kind: 'error',
    error: new ProxyError(
      'EKL_CLIENT_HELLO_TOO_LARGE',
      `ClientHello larger than clientHello.maxBytes (${maxBytes}): ${detail}`,
      { source: 'downstream' },
    ),
  };
}

/** A TLS content type by name; any other byte value is not named (it is the client's). */
function recordTypeName(type: number): string {
  switch (type) {
    case 20:
      return 'a change_cipher_spec record';
    case 21:
      return 'an alert record';
    case 23:
      return 'an application_data record';
    case 24:
      return 'a heartbeat record';
    default:
      return 'a byte that is no TLS record type';
  }
}

/** Names what the first bytes look like when they are not TLS (a fixed phrase, never the bytes). */
function describeNonTls(buf: Buffer): string {
  const head = buf.subarray(0, 12).toString('latin1');
  if (head.startsWith('\r\n\r\n\0\r\nQUIT\n'))
    return 'a PROXY protocol v2 header arrived but proxyProtocol.mode is off';
  if (head.startsWith('PROXY ')) return 'a PROXY protocol v1 header arrived; only v2 is supported';
  if (/^[A-Z]{3,7} /.test(head)) return 'plaintext HTTP arrived on the TLS port';
  if (((buf[0] ?? 0) & 0x80) !== 0 && buf[2] === 1) return 'an SSLv2-format ClientHello (not supported)';
  return `${recordTypeName(buf[0] as number)} arrived, not a handshake record`;
}

/** Bounds-checked big-endian reader over one handshake message. */
class Reader {
  pos: number;
  constructor(
    private readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  private need(n: number, what: string): void {
    if (this.pos + n > this.end) throw new Malformed(`${what} runs past its end`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++] as number;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
  /** A sub-reader over the next `n` bytes. */
  sub(n: number, what: string): Reader {
    this.need(n, what);
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
  latin1(n: number, what: string): string {
    this.need(n, what);
    const s = this.buf.toString('latin1', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  get remaining(): number {
    return this.end - this.pos;
  }
}

/**
 * Per extension type, the parse that last saw it (parses are numbered 1-255, then the table
 * is cleared): a repeated extension is found in constant time, with no set allocated per
 * hello. Parses are synchronous, so one table serves them all.
 */
const extensionSeenIn = new Uint8Array(65_536);
let parseNumber = 0;

function parseBody(message: Buffer): ClientHello {
  const r = new Reader(message, HANDSHAKE_HEADER_LEN, message.length);
  const major = r.u8('legacy_version');
  r.u8('legacy_version');
  if (major !== 3) throw new Malformed('legacy_version is not 3.x');
  r.skip(32, 'random');
  const sessionIdLen = r.u8('legacy_session_id');
  if (sessionIdLen > 32) throw new Malformed(`legacy_session_id of ${sessionIdLen} bytes (max 32)`);
  r.skip(sessionIdLen, 'legacy_session_id');
  const suitesLen = r.u16('cipher_suites');
  if (suitesLen < 2 || suitesLen % 2 !== 0) throw new Malformed(`cipher_suites length ${suitesLen}`);
  r.skip(suitesLen, 'cipher_suites');
  const compressionLen = r.u8('legacy_compression_methods');
  if (compressionLen < 1) throw new Malformed('no legacy_compression_methods');
  r.skip(compressionLen, 'legacy_compression_methods');
  if (r.remaining === 0) return { handshakeLength: message.length };

  const extensionsLen = r.u16('extensions');
  if (extensionsLen !== r.remaining)
    throw new Malformed(`extensions length ${extensionsLen} but ${r.remaining} bytes remain`);
  let sni: string | undefined;
  parseNumber = parseNumber === 255 ? (extensionSeenIn.fill(0), 1) : parseNumber + 1;
  while (r.remaining > 0) {
    const type = r.u16('extension type');
    const length = r.u16('extension length');
    if (extensionSeenIn[type] === parseNumber) throw new Malformed('an extension appears twice');
    extensionSeenIn[type] = parseNumber;
    // Only server_name is read; the rest are stepped over without a reader of their own.
    if (type === EXT_SERVER_NAME) sni = parseServerName(r.sub(length, 'an extension'));
    else r.skip(length, 'an extension');
  }
  return sni === undefined ? { handshakeLength: message.length } : { handshakeLength: message.length, sni };
}

function parseServerName(ext: Reader): string | undefined {
  const list = ext.sub(ext.u16('server_name_list'), 'server_name_list');
  if (ext.remaining !== 0) throw new Malformed('bytes after server_name_list');
  if (list.remaining === 0) throw new Malformed('empty server_name_list');
  let name: string | undefined;
  while (list.remaining > 0) {
    const nameType = list.u8('name_type');
    const len = list.u16('server name');
    if (nameType !== SNI_HOST_NAME) {
      list.skip(len, 'server name');
      continue;
    }
    if (name !== undefined) throw new Malformed('two host_name entries');
    if (len === 0 || len > MAX_HOSTNAME_LEN) throw new Malformed(`host_name of ${len} bytes`);
    name = list.latin1(len, 'host_name');
    // Only what a DNS name may hold: the name is logged and looked up, so nothing else passes.
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Malformed('host_name has characters a DNS name cannot');
  }
  if (name === undefined) return undefined;
  name = name.toLowerCase();
  return name.endsWith('.') ? name.slice(0, -1) : name;
}
