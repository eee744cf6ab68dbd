/** The cluster CA for certificate-authority-data: read from a PEM file or taken as base64, checked to be a live CA certificate. */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { EkslinkError } from '../../common/errors.js';
import { KUBECONFIG_ERROR_CODES } from './errors.js';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM bundle (one or more CA certificates), normalised to end with a newline. */
export async function loadCaPem(
  source: { caFile?: string; caData?: string },
  now = new Date(),
): Promise<string> {
  let pem: string;
  let origin: string;
  if (source.caFile !== undefined) {
    origin = `--ca-file ${source.caFile}`;
    try {
      pem = await readFile(source.caFile, 'utf8');
    } catch (err) {
      throw new EkslinkError(
        KUBECONFIG_ERROR_CODES.caUnreadable,
        `cannot read ${origin} (${(err as NodeJS.ErrnoException).code ?? 'EIO'}); check the path`,
        { cause: err, source: 'config' },
      );
    }
  } else {
    origin = '--ca-data';
    pem = Buffer.from(source.caData ?? '', 'base64').toString('utf8');
  }
  return checkCaPem(pem, origin, now);
}

export function checkCaPem(pem: string, origin: string, now: Date): string {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) {
    throw invalid(
      `${origin} holds no PEM certificate ("-----BEGIN CERTIFICATE-----"); --ca-file takes PEM, --ca-data takes base64 of PEM as \`aws eks describe-cluster --query cluster.certificateAuthority.data --output text\` prints it`,
    );
  }
  for (const block of blocks) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch (err) {
      throw invalid(`${origin} holds a certificate that does not parse (${(err as Error).message})`, err);
    }
    if (!cert.ca) {
      throw invalid(
        `${origin} holds "${cert.subject.replace(/\n/g, ', ')}", which is not a CA certificate; use the cluster's certificate authority, not the API server's certificate`,
      );
    }
    if (new Date(cert.validTo) < now) {
      throw invalid(
        `${origin} holds a CA certificate that expired on ${cert.validTo}; fetch the cluster's current CA`,
      );
    }
  }
  return `${blocks.join('\n')}\n`;
}

function invalid(message: string, cause?: unknown): EkslinkError {
  return new EkslinkError(KUBECONFIG_ERROR_CODES.caInvalid, message, { source: 'config', cause });
}
