import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { HopContext, HopResult } from './types.js';

/** What the peer presented, for the report. */
export interface PeerCertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  /** DNS names and IP addresses from subjectAltName, as `DNS:name` / `IP Address:addr`. */
  readonly altNames: string[];
  readonly validFrom: string;
  readonly validTo: string;
  readonly fingerprint256: string;
}

const UNKNOWN_CA = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

const NOT_TLS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
]);

type Outcome =
  | { kind: 'connected'; socket: TLSSocket; identityError?: Error }
  | { kind: 'error'; error: NodeJS.ErrnoException }
  | { kind: 'timeout' };

function handshake(ctx: HopContext, address: string): Promise<Outcome> {
  const { target } = ctx;
  const servername = target.tlsServerName;
  const expected = servername ?? target.host;
  return new Promise((resolve) => {
    let identityError: Error | undefined;
    const socket = connect({
      host: address,
      port: target.port,
      ...(servername !== undefined && isIP(servername) === 0 ? { servername } : {}),
      ...(target.caPem === undefined ? {} : { ca: target.caPem }),
      ALPNProtocols: ['h2', 'http/1.1'],
      // Verified below, so that a failure can name what the peer presented.
      rejectUnauthorized: false,
      checkServerIdentity: (_host, cert) => {
        identityError = checkServerIdentity(expected, cert);
        return identityError;
      },
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ kind: 'timeout' });
    }, ctx.timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve({ kind: 'connected', socket, ...(identityError ? { identityError } : {}) });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ kind: 'error', error });
    });
  });
}

function summarize(cert: PeerCertificate): PeerCertificateSummary {
  const name = (o: Record<string, unknown> | undefined): string =>
    o === undefined
      ? ''
      : Object.entries(o)
          .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
          .join(', ');
  return {
    subject: name(cert.subject as unknown as Record<string, unknown>),
    issuer: name(cert.issuer as unknown as Record<string, unknown>),
    altNames: (cert.subjectaltname ?? '').split(/,\s*/).filter((s) => s !== ''),
    validFrom: cert.valid_from,
    validTo: cert.valid_to,
    fingerprint256: cert.fingerprint256,
  };
}

/** Subjects of the certificates in a PEM bundle, to say which CA was trusted. */
export function caSubjects(pem: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => {
    try {
      return new X509Certificate(block).subject.replaceAll('\n', ', ');
    } catch {
      return '(unparseable certificate)';
    }
  });
}

/** `tlsv1 alert access denied` from ERR_SSL_TLSV1_ALERT_ACCESS_DENIED, for the report. */
function alertName(code: string): string | undefined {
  const m = /^ERR_SSL_(?:TLSV1|SSLV3|TLSV13)_ALERT_(.+)$/.exec(code);
  return m?.[1]?.toLowerCase();
}

/** Hop 3: TLS handshake with SNI = tls-server-name, verified against the CA and the expected name. */
export async function checkTlsHandshake(ctx: HopContext, address: string): Promise<HopResult> {
  const { target } = ctx;
  const start = ctx.now();
  const outcome = await handshake(ctx, address);
  const latencyMs = ctx.now() - start;
  const expected = target.tlsServerName ?? target.host;
  const base = { address, port: target.port, sni: target.tlsServerName ?? null };
  const fail = (
    code: string,
    summary: string,
    hint: string,
    details: Record<string, unknown> = {},
  ): HopResult => ({
    hop: 'tls-handshake',
    status: 'fail',
    latencyMs,
    summary,
    code,
    hint,
    details: { ...base, ...details },
  });

  if (outcome.kind === 'timeout') {
    return fail(
      'EKL_VERIFY_TLS_TIMEOUT',
      `TLS handshake with ${address} did not finish within ${ctx.timeoutMs} ms`,
      'the proxy may not reach the upstream (its connect timeout), or the path drops large packets (MTU)',
    );
  }
  if (outcome.kind === 'error') {
    const code = outcome.error.code ?? 'UNKNOWN';
    if (code === 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME') {
      return fail(
        'EKL_VERIFY_TLS_SNI_REFUSED',
        `the peer refused SNI "${target.tlsServerName ?? '(none)'}" with a TLS unrecognized_name alert: the ekslink proxy does not route this name`,
        'set --tls-server-name (kubeconfig tls-server-name) to the EKS hostname, or add it to the proxy routes (routes[].sni)',
        { error: code },
      );
    }
    if (NOT_TLS.has(code)) {
      return fail(
        'EKL_VERIFY_TLS_NOT_TLS',
        `${address}:${target.port} does not speak TLS (${code})`,
        'check the port; something other than TLS (plain HTTP?) listens there',
        { error: code },
      );
    }
    if (code === 'ECONNRESET' || code === 'EPIPE') {
      return fail(
        'EKL_VERIFY_TLS_CLOSED',
        `${address}:${target.port} closed the connection during the TLS handshake (${code})`,
        'the proxy refused the connection before TLS (endpoint not allowlisted, PROXY protocol mismatch, no upstream): read its log line for this connection',
        { error: code },
      );
    }
    const alert = alertName(code);
    if (alert !== undefined) {
      return fail(
        'EKL_VERIFY_TLS_ALERT',
        `the peer ended the TLS handshake with alert "${alert}"`,
        'protocol_version / handshake_failure: no common TLS version or cipher; certificate_required: the server wants a client certificate',
        { error: code, alert },
      );
    }
    return fail(
      'EKL_VERIFY_TLS_FAILED',
      `TLS handshake failed: ${code} (${outcome.error.message})`,
      `OpenSSL error ${code}`,
      {
        error: code,
      },
    );
  }

  const { socket } = outcome;
  const cert = summarize(socket.getPeerCertificate());
  const session = {
    protocol: socket.getProtocol(),
    cipher: socket.getCipher().name,
    alpn: socket.alpnProtocol || null,
  };
  const authError = socket.authorized ? undefined : String(socket.authorizationError ?? 'UNKNOWN');
  socket.destroy();
  const details = { ...session, certificate: cert };

  if (authError === undefined) {
    return {
      hop: 'tls-handshake',
      status: 'ok',
      latencyMs,
      summary: `${session.protocol} with ${address}, certificate for ${expected} issued by ${cert.issuer}`,
      details: { ...base, ...details },
    };
  }
  if (authError === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names =
      cert.altNames.length > 0 ? cert.altNames.join(', ') : `no subjectAltName (subject ${cert.subject})`;
    return fail(
      'EKL_VERIFY_TLS_NAME_MISMATCH',
      `certificate name mismatch: expected ${expected}, the certificate carries ${names}`,
      'set --tls-server-name to the EKS hostname the certificate carries, or check the connection reaches the right server',
      {
        ...details,
        expectedName: expected,
        actualNames: cert.altNames,
        reason: outcome.identityError?.message,
      },
    );
  }
  if (UNKNOWN_CA.has(authError)) {
    const trusted = target.caPem === undefined ? ['(Node default roots)'] : caSubjects(target.caPem);
    return fail(
      'EKL_VERIFY_TLS_UNKNOWN_CA',
      `certificate not signed by the CA given (${authError}): issuer is ${cert.issuer}; trusted: ${trusted.join(' | ')}`,
      'pass the cluster CA (aws eks describe-cluster --query cluster.certificateAuthority.data) with --ca-file or in the kubeconfig',
      { ...details, error: authError, trustedCas: trusted, caSource: target.caSource ?? null },
    );
  }
  if (authError === 'CERT_HAS_EXPIRED') {
    return fail(
      'EKL_VERIFY_TLS_CERT_EXPIRED',
      `certificate expired at ${cert.validTo}`,
      'check the clock here and the server certificate',
      {
        ...details,
        error: authError,
      },
    );
  }
  if (authError === 'CERT_NOT_YET_VALID') {
    return fail(
      'EKL_VERIFY_TLS_CERT_NOT_YET_VALID',
      `certificate not valid before ${cert.validFrom}`,
      'check the clock here (NTP)',
      {
        ...details,
        error: authError,
      },
    );
  }
  return fail(
    'EKL_VERIFY_TLS_FAILED',
    `certificate rejected: ${authError}`,
    `OpenSSL verify error ${authError}`,
    {
      ...details,
      error: authError,
    },
  );
}
