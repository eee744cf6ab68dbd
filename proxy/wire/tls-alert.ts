/**
 * TLS alert records the proxy sends before closing a refused connection, so the client
 * sees "tls: unrecognized name" instead of a bare EOF. RFC 8446 6 and 6.2.
 */

/** Alert descriptions the proxy uses (RFC 8446 6). */
export const TLS_ALERT_DESCRIPTION = { unrecognizedName: 112 } as const;

const CONTENT_TYPE_ALERT = 21;
const LEVEL_FATAL = 2;

/** One plaintext alert record: type 21, version 3.3, length 2, level fatal, description. */
export function tlsAlertRecord(description: number): Buffer {
  return Buffer.from([CONTENT_TYPE_ALERT, 3, 3, 0, 2, LEVEL_FATAL, description]);
}

/** Sent when the SNI is missing or not on the route allowlist. Never mutated. */
export const UNRECOGNIZED_NAME_ALERT: Buffer = tlsAlertRecord(TLS_ALERT_DESCRIPTION.unrecognizedName);
