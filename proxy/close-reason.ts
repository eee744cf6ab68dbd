/**
 * The closed set of reasons a proxied connection ends. The same strings appear as the
 * `reason` on each connection's log line and as the `reason` metric label.
 */
export const CLOSE_REASONS = [
  /** Both sides finished normally. */
  'ok',
  /** Client reset or errored after the upstream was connected. */
  'client_error',
  /** Upstream reset or errored after it was connected. */
  'upstream_error',
  /** connections.idleTimeoutMs elapsed with no bytes either way. */
  'idle_timeout',
  /** One side sent its FIN and the other direction did not end within connections.halfCloseTimeoutMs. */
  'half_close_timeout',
  /** Refused at accept: connections.max reached. */
  'connection_limit',
  /** PROXY v2 header missing, malformed, oversized (proxyProtocol.mode required). */
  'proxy_header_invalid',
  /** PROXY v2 header not complete within proxyProtocol.timeoutMs. */
  'proxy_header_timeout',
  /** PrivateLink endpoint ID absent or not in proxyProtocol.allowedVpcEndpointIds. */
  'vpce_not_allowed',
  /** Bytes that are not a TLS ClientHello, or a malformed one. */
  'client_hello_invalid',
  /** ClientHello larger than clientHello.maxBytes. */
  'client_hello_too_large',
  /** ClientHello not complete within clientHello.timeoutMs. */
  'client_hello_timeout',
  /** Client closed before a full ClientHello (or PROXY header) arrived, or before the upstream was connected. */
  'client_closed_early',
  /** No SNI and no defaultRoute. */
  'sni_missing',
  /** SNI not on the route allowlist. */
  'sni_not_allowed',
  /** DNS failed and no last-good answer is young enough. */
  'dns_failed',
  /** DNS answered, but no address is inside allowedUpstreamCidrs. */
  'no_allowed_address',
  /** Every allowed address failed to connect (refused, timeout, unreachable). */
  'upstream_connect_failed',
  /** Still open at the drain deadline, or destroyed on shutdown. */
  'shutdown',
] as const;

export type CloseReason = (typeof CLOSE_REASONS)[number];
