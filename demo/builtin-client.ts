/**
 * The fallback when kubectl is not installed: the same two calls over node:https, with the
 * same trust settings kubectl would use (the run's CA, the EKS hostname as TLS server name,
 * a bearer token) and a new connection per request.
 */
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import {
  ENI_PATH,
  eniResult,
  lineReader,
  MAX_BODY_BYTES,
  shortError,
  type ClientTarget,
  type DemoClient,
  type RequestResult,
  type WatchHandle,
  type WatchHandlers,
} from './client.js';

const WATCH_PATH = '/api/v1/namespaces/default/configmaps?watch=true';

export class BuiltinClient implements DemoClient {
  readonly kind = 'builtin';
  readonly #target: ClientTarget;
  readonly #url: URL;

  constructor(target: ClientTarget) {
    this.#target = target;
    this.#url = new URL(target.server);
  }

  request(timeoutMs: number): Promise<RequestResult> {
    const started = performance.now();
    return new Promise((resolve) => {
      const fail = (error: string): void =>
        resolve({ ok: false, error, latencyMs: performance.now() - started });
      const req = https.get(this.#options(ENI_PATH, timeoutMs), (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
          if (body.length > MAX_BODY_BYTES) req.destroy(new Error('response too large'));
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return fail(`HTTP ${res.statusCode}: ${shortError(body)}`);
          resolve(eniResult(body, performance.now() - started));
        });
        res.on('error', (err) => fail(describe(err)));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => fail(describe(err)));
    });
  }

  watch(handlers: WatchHandlers): WatchHandle {
    let stopped = false;
    let ended = false;
    const end = (error?: string): void => {
      if (stopped || ended) return;
      ended = true;
      handlers.onEnd(error);
    };
    const req = https.get(this.#options(WATCH_PATH), (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        res.resume();
        return end(`HTTP ${res.statusCode}`);
      }
      let unparsable = false;
      const feed = lineReader((line) => {
        try {
          const ev = JSON.parse(line) as {
            object?: { metadata?: { name?: string }; data?: { servedBy?: string } };
          };
          handlers.onEvent(ev.object?.metadata?.name ?? '?', ev.object?.data?.servedBy ?? '?');
          return true;
        } catch {
          unparsable = true;
          return false;
        }
      });
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (feed(d)) return;
        // Ended by us: report why, then close the stream so nothing more arrives after onEnd.
        end(unparsable ? 'unparsable watch event' : 'watch event too large');
        req.destroy();
      });
      // A watch the server closes is a normal end, as kubectl treats it.
      res.on('close', () => end());
    });
    req.on('error', (err) => end(describe(err)));
    return {
      stop: () => {
        stopped = true;
        req.destroy();
      },
    };
  }

  async close(): Promise<void> {
    // Nothing held between calls: every request has its own connection.
  }

  #options(path: string, timeoutMs?: number): https.RequestOptions {
    return {
      host: this.#url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(this.#url.port || 443),
      path,
      servername: this.#target.tlsServerName,
      ca: this.#target.caCertPem,
      headers: { authorization: `Bearer ${this.#target.token}`, accept: 'application/json' },
      agent: false,
      ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
    };
  }
}

function describe(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `${code}: ${err.message}` : err.message;
}
