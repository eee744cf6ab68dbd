/** What the HTTP fronts before moto (fake-ec2-endpoint-connections, fake-elbv2-nlb-security-groups, fake-iam) share. */
import { request as httpRequest, type IncomingMessage } from 'node:http';

/** The whole request body. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Text for an XML element's content. */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** moto's answer to a forwarded request, read whole. */
export interface ForwardedResponse {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** Send a request on to `target` (moto) as it came, with the host and length fixed up; read the answer whole. */
export function forwardTo(
  target: URL,
  method: string,
  path: string,
  headers: IncomingMessage['headers'],
  body: Buffer | string,
): Promise<ForwardedResponse> {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  return new Promise((resolve, reject) => {
    const out = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method,
        path,
        headers: { ...headers, host: target.host, 'content-length': String(payload.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 500,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    out.on('error', reject);
    out.end(payload);
  });
}
