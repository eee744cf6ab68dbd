/**
 * Error codes of the proxy data path. Each refusal or failure of a connection maps to one
 * code here and to one close reason (proxy/close-reason.ts); the pair appears on the
 * connection's log line.
 */
import { EkslinkError, type ErrorSource } from '../common/errors.js';
import type { CloseReason } from './close-reason.js';

export const PROXY_ERROR_CODES = {
  clientHelloInvalid: 'EKL_CLIENT_HELLO_INVALID',
  clientHelloTooLarge: 'EKL_CLIENT_HELLO_TOO_LARGE',
  clientHelloTimeout: 'EKL_CLIENT_HELLO_TIMEOUT',
  clientClosedEarly: 'EKL_CLIENT_CLOSED_EARLY',
  sniMissing: 'EKL_SNI_MISSING',
  sniNotAllowed: 'EKL_SNI_NOT_ALLOWED',
  vpceNotAllowed: 'EKL_VPCE_NOT_ALLOWED',
  proxyHeaderTimeout: 'EKL_PROXY_HEADER_TIMEOUT',
  dnsFailed: 'EKL_DNS_FAILED',
  noAllowedAddress: 'EKL_NO_ALLOWED_ADDRESS',
  upstreamConnectFailed: 'EKL_UPSTREAM_CONNECT_FAILED',
  connectionLimit: 'EKL_CONNECTION_LIMIT',
  cidrInvalid: 'EKL_CIDR_INVALID',
  listenFailed: 'EKL_LISTEN_FAILED',
} as const;

export type ProxyErrorCode = (typeof PROXY_ERROR_CODES)[keyof typeof PROXY_ERROR_CODES];

/** code -> one-line meaning and fix (docs/errors.md is generated from this). */
export const ERROR_CATALOG: Readonly<Record<ProxyErrorCode, string>> = {
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
  EKL_CIDR_INVALID:
    'A CIDR block in allowedUpstreamCidrs could not be parsed. Write it as "10.0.0.0/16" or "fd00::/8".',
  EKL_LISTEN_FAILED:
    'The proxy could not bind listen.host:listen.port (in use, or not permitted). Pick a free port or run with CAP_NET_BIND_SERVICE for ports below 1024.',
};

/** Which close reason each connection-level code ends a connection with. */
export const CLOSE_REASON_OF: Readonly<Partial<Record<ProxyErrorCode, CloseReason>>> = {
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
};

/** An error of the data path; `source` says which side caused it. */
export class ProxyError extends EkslinkError {
  override name = 'ProxyError';
  declare readonly code: ProxyErrorCode;

  constructor(
    code: ProxyErrorCode,
    message: string,
    options: { cause?: unknown; source?: ErrorSource; retryable?: boolean } = {},
  ) {
    super(code, message, options);
  }
}

/** One address tried by the dialer and why it failed. */
export interface DialAttempt {
  readonly address: string;
  readonly port: number;
  readonly result: 'timeout' | 'refused' | 'unreachable' | 'error';
  readonly errorCode: string;
}

/** Every address failed; the message lists each one, like undici's connect errors. */
export class UpstreamConnectError extends ProxyError {
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
