/**
 * Error codes of the proxy, the PROXY v2 parser's among them. Each refusal or failure of a
 * connection maps to one code here and to one close reason (proxy/close-reason.ts); the pair
 * appears on the connection's log line. The proxy's error family (common/error-family.ts).
 */
import { defineErrorFamily } from '../common/error-family.js';
import type { EkslinkErrorOptions } from '../common/errors.js';
import type { CloseReason } from './close-reason.js';

/** Codes a connection ends with; each has its close reason (CLOSE_REASON_OF). */
const CONNECTION_CATALOG = {
  EKL_CLIENT_HELLO_INVALID:
    'The first bytes were not a well-formed TLS ClientHello (plain HTTP, SSLv2, garbage, or a broken hello). The client must speak TLS directly to port 443; check it is not sending plaintext or a PROXY header the proxy does not expect (proxyProtocol.mode).',
  EKL_CLIENT_HELLO_TOO_LARGE:
    'The ClientHello exceeded clientHello.maxBytes. Real clients (even post-quantum ones) send under 2 KiB; raise clientHello.maxBytes only if a legitimate client needs it.',
  EKL_CLIENT_HELLO_TIMEOUT:
    'The client did not send a complete ClientHello within clientHello.timeoutMs. Usually a port scanner or a health check that opens TCP only; raise the timeout only for very slow links.',
  EKL_CLIENT_CLOSED_EARLY:
    'The client closed before sending a complete ClientHello (or PROXY header). Usually a TCP health check or a client that gave up.',
  EKL_SNI_MISSING:
    'The ClientHello had no SNI and no defaultRoute is set. Set tls-server-name in the kubeconfig, or set defaultRoute to the route name to use.',
  EKL_SNI_NOT_ALLOWED:
    "The SNI is not one of the configured routes. Add a route { sni: <hostname> } if this cluster should be reachable, or fix the client's tls-server-name.",
  EKL_VPCE_NOT_ALLOWED:
    'The PROXY v2 header carried no PrivateLink endpoint ID or one not in proxyProtocol.allowedVpcEndpointIds. Add the endpoint ID (vpce-...) to the allowlist if it is yours.',
  EKL_PROXY_HEADER_TIMEOUT:
    'No complete PROXY v2 header arrived within proxyProtocol.timeoutMs. Check that the NLB target group has proxy_protocol_v2.enabled when proxyProtocol.mode is required.',
  EKL_DNS_FAILED:
    'The upstream hostname could not be resolved (timeout, SERVFAIL, NXDOMAIN, no records) and no last-good answer younger than dns.staleMaxAgeMs exists. Check dns.servers (the VPC resolver, e.g. 169.254.169.253 or the VPC CIDR base +2) and that the private hosted zone is associated with the VPC.',
  EKL_NO_ALLOWED_ADDRESS:
    'DNS answered, but no address is inside allowedUpstreamCidrs (loopback, link-local, IMDS and addresses outside the list are never dialled). Add the EKS control-plane subnets or the VPC CIDR to allowedUpstreamCidrs.',
  EKL_UPSTREAM_CONNECT_FAILED:
    'Every allowed upstream address refused, timed out or was unreachable. Check the EKS cluster security group allows TCP 443 from the proxy instances, and upstream.connectTimeoutMs.',
  EKL_CONNECTION_LIMIT:
    'connections.max concurrent connections were already open; the new one was closed at accept. Scale the fleet out or raise connections.max.',
  EKL_PROXY_HEADER_SIGNATURE:
    'The connection did not start with the PROXY v2 signature. Either the NLB target group does not have proxy_protocol_v2.enabled (set proxyProtocol.mode: off) or a client connected around the NLB.',
  EKL_PROXY_HEADER_VERSION:
    'The PROXY header is not version 2 (version 1 text headers are not accepted). Enable PROXY protocol v2 on the target group.',
  EKL_PROXY_HEADER_COMMAND:
    'The PROXY v2 command is neither LOCAL (0x0) nor PROXY (0x1): the header is corrupt.',
  EKL_PROXY_HEADER_FAMILY:
    'The PROXY v2 address family/protocol byte is not one the spec defines: the header is corrupt.',
  EKL_PROXY_HEADER_LENGTH:
    'The PROXY v2 length does not match its address block or TLVs (a TLV runs past the end): the header is corrupt.',
  EKL_PROXY_HEADER_TOO_LARGE:
    'The PROXY v2 header is longer than the allowed maximum; something other than the NLB sent it.',
  EKL_PROXY_HEADER_TLV:
    'A PROXY v2 TLV the proxy relies on is malformed (e.g. a VPC endpoint ID that is not vpce- and 8-17 hex digits, or two different ones).',
} as const;

/** Codes of the proxy process itself (its config, its listener): they end no connection. */
const PROCESS_CATALOG = {
  EKL_CIDR_INVALID:
    'A CIDR block in allowedUpstreamCidrs could not be parsed. Write it as "10.0.0.0/16" or "fd00::/8".',
  EKL_LISTEN_FAILED:
    'The proxy could not bind listen.host:listen.port (in use, or not permitted). Pick a free port or run with CAP_NET_BIND_SERVICE for ports below 1024.',
} as const;

/** code -> one-line meaning and fix (docs/errors.md is generated from this). */
export const ERROR_CATALOG = { ...CONNECTION_CATALOG, ...PROCESS_CATALOG } as const;

export type ProxyErrorCode = keyof typeof ERROR_CATALOG;
export type ConnectionErrorCode = keyof typeof CONNECTION_CATALOG;

/** Which close reason each connection-level code ends a connection with: every one, no fallback. */
export const CLOSE_REASON_OF = {
  EKL_CLIENT_HELLO_INVALID: 'client_hello_invalid',
  EKL_CLIENT_HELLO_TOO_LARGE: 'client_hello_too_large',
  EKL_CLIENT_HELLO_TIMEOUT: 'client_hello_timeout',
  EKL_CLIENT_CLOSED_EARLY: 'client_closed_early',
  EKL_SNI_MISSING: 'sni_missing',
  EKL_SNI_NOT_ALLOWED: 'sni_not_allowed',
  EKL_VPCE_NOT_ALLOWED: 'vpce_not_allowed',
  EKL_PROXY_HEADER_TIMEOUT: 'proxy_header_timeout',
  EKL_DNS_FAILED: 'dns_failed',
  EKL_NO_ALLOWED_ADDRESS: 'no_allowed_address',
  EKL_UPSTREAM_CONNECT_FAILED: 'upstream_connect_failed',
  EKL_CONNECTION_LIMIT: 'connection_limit',
  EKL_PROXY_HEADER_SIGNATURE: 'proxy_header_invalid',
  EKL_PROXY_HEADER_VERSION: 'proxy_header_invalid',
  EKL_PROXY_HEADER_COMMAND: 'proxy_header_invalid',
  EKL_PROXY_HEADER_FAMILY: 'proxy_header_invalid',
  EKL_PROXY_HEADER_LENGTH: 'proxy_header_invalid',
  EKL_PROXY_HEADER_TOO_LARGE: 'proxy_header_invalid',
  EKL_PROXY_HEADER_TLV: 'proxy_header_invalid',
} as const satisfies Record<ConnectionErrorCode, CloseReason>;

export function isConnectionErrorCode(code: string): code is ConnectionErrorCode {
  return Object.hasOwn(CLOSE_REASON_OF, code);
}

/**
 * An error of the data path; `source` says which side caused it (`internal` unless the
 * throw site says otherwise). `C` narrows the code where only some codes can occur.
 */
export class ProxyError<C extends ProxyErrorCode = ProxyErrorCode> extends defineErrorFamily({
  name: 'ProxyError',
  catalog: ERROR_CATALOG,
  source: 'internal',
}) {
  declare readonly code: C;

  constructor(code: C, message: string, options: EkslinkErrorOptions = {}) {
    super(code, message, options);
  }
}

/** An error a connection can end with. */
export type ConnectionError = ProxyError<ConnectionErrorCode>;

/** One address tried by the dialer and why it failed. */
export interface DialAttempt {
  readonly address: string;
  readonly port: number;
  readonly result: 'timeout' | 'refused' | 'unreachable' | 'error';
  readonly errorCode: string;
}

/** Every address failed; the message lists each one, like undici's connect errors. */
export class UpstreamConnectError extends ProxyError<'EKL_UPSTREAM_CONNECT_FAILED'> {
  override name = 'UpstreamConnectError';
  readonly attempts: readonly DialAttempt[];

  constructor(attempts: readonly DialAttempt[], cause?: unknown) {
    const tried = attempts.map((a) => `${formatHostPort(a.address, a.port)} (${a.errorCode})`).join(', ');
    super(
      'EKL_UPSTREAM_CONNECT_FAILED',
      attempts.length === 0
        ? 'no upstream address to connect to'
        : `could not connect to any upstream address; tried ${tried}`,
      { cause, source: 'upstream', retryable: true },
    );
    this.attempts = attempts;
  }
}

/** `10.0.0.1:443` or `[fd00::1]:443`. */
export function formatHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
