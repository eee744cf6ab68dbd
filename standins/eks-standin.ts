/**
 * A TLS stand-in for a private EKS API server: the same HTTPS service on several loopback
 * addresses (the control-plane ENIs), same port on each. ENIs come and go as EKS rotates
 * them; removing one stops its listener and cuts its open connections, as a deleted ENI does.
 */
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isIP } from 'node:net';
import type { TestPki } from './pki.js';
import {
  DEFAULT_GIT_VERSION,
  apiGroupListBody,
  apiVersionsBody,
  configMap,
  configMapList,
  coreV1ResourcesBody,
  eniBody,
  statusBody,
  versionBody,
  watchEvent,
} from './apiserver-bodies.js';

export interface EksStandinOptions {
  addresses: string[];
  /** @default 0 (the OS picks one port that is then used on every address) */
  port?: number;
  pki: TestPki;
  /** @default 'v1.31.2-eks-7f9249a' */
  gitVersion?: string;
  /** Period of the watch stream's events. @default 1000 */
  watchIntervalMs?: number;
  /** When set, requests must carry `Authorization: Bearer <token>` (else 401, as the real server). */
  token?: string;
}

interface Eni {
  readonly address: string;
  readonly server: https.Server;
  readonly sockets: Set<Socket>;
}

interface Watcher {
  readonly eni: string;
  readonly res: ServerResponse;
}

/** Header naming the ENI that answered: lets tests and the demo see rotation at work. */
export const ENI_HEADER = 'x-ekslink-eni';
const WATCH_PATH = '/api/v1/namespaces/default/configmaps';
/** Heartbeat ConfigMaps kept for list and watch replay. */
const KEPT_ITEMS = 20;
const BIND_ATTEMPTS = 20;

export class EksStandin {
  #port: number;
  readonly #opts: EksStandinOptions;
  readonly #gitVersion: string;
  readonly #enis = new Map<string, Eni>();
  readonly #served = new Map<string, number>();
  readonly #watchers = new Set<Watcher>();
  readonly #items: { name: string; resourceVersion: number; createdAt: Date }[] = [];
  #resourceVersion = 1000;
  #ticker: NodeJS.Timeout | undefined;
  #closed?: Promise<void>;

  private constructor(opts: EksStandinOptions) {
    this.#opts = opts;
    this.#port = opts.port ?? 0;
    this.#gitVersion = opts.gitVersion ?? DEFAULT_GIT_VERSION;
  }

  static async start(opts: EksStandinOptions): Promise<EksStandin> {
    if (opts.addresses.length === 0) throw new TypeError('EksStandin.start: give at least one address');
    const standin = new EksStandin(opts);
    await standin.#listenInitial(opts.addresses);
    standin.#ticker = setInterval(() => standin.#tick(), opts.watchIntervalMs ?? 1000).unref();
    return standin;
  }

  get port(): number {
    return this.#port;
  }

  /** Addresses listening now, in the order they started. */
  get enis(): readonly string[] {
    return [...this.#enis.keys()];
  }

  /** Starts listening on one more address (same port). */
  async addEni(address: string): Promise<void> {
    if (isIP(address) === 0) throw new TypeError(`addEni: not an IP address: ${address}`);
    if (this.#enis.has(address)) return;
    const eni = await this.#listen(address, this.#port);
    this.#enis.set(address, eni);
  }

  /** Stops listening on an address and ends every connection it holds (a deleted ENI). */
  async removeEni(address: string): Promise<void> {
    const eni = this.#enis.get(address);
    if (!eni) return;
    this.#enis.delete(address);
    const closed = new Promise<void>((resolve) => eni.server.close(() => resolve()));
    for (const s of eni.sockets) s.destroy();
    await closed;
  }

  /** HTTP requests answered by an address so far (including after it was removed). */
  servedCount(address: string): number {
    return this.#served.get(address) ?? 0;
  }

  /** Watch streams open now. */
  get openWatches(): number {
    return this.#watchers.size;
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#ticker);
      await Promise.all([...this.#enis.keys()].map((a) => this.removeEni(a)));
    })();
    return this.#closed;
  }

  async #listenInitial(addresses: string[]): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      const started: Eni[] = [];
      try {
        for (const address of addresses) {
          const eni = await this.#listen(address, this.#port);
          started.push(eni);
          if (this.#port === 0) this.#port = (eni.server.address() as AddressInfo).port;
        }
        for (const eni of started) this.#enis.set(eni.address, eni);
        return;
      } catch (err) {
        lastError = err;
        await Promise.all(started.map((e) => new Promise((r) => e.server.close(r))));
        // With a fixed port there is nothing to retry; with port 0, pick another.
        if (this.#opts.port) break;
        this.#port = 0;
      }
    }
    throw new Error(`EksStandin could not listen on ${addresses.join(', ')}`, { cause: lastError });
  }

  #listen(address: string, port: number): Promise<Eni> {
    const sockets = new Set<Socket>();
    const server = https.createServer(
      { cert: this.#opts.pki.serverCertPem, key: this.#opts.pki.serverKeyPem, ALPNProtocols: ['http/1.1'] },
      (req, res) => this.#handle(address, req, res),
    );
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve({ address, server, sockets });
      });
    });
  }

  #handle(eni: string, req: IncomingMessage, res: ServerResponse): void {
    this.#served.set(eni, (this.#served.get(eni) ?? 0) + 1);
    res.setHeader(ENI_HEADER, eni);
    res.setHeader('audit-id', randomUUID());
    const url = new URL(req.url ?? '/', 'https://standin');

    if (this.#opts.token !== undefined && req.headers.authorization !== `Bearer ${this.#opts.token}`) {
      return json(res, 401, statusBody(401, 'Unauthorized', 'Unauthorized'));
    }
    if (req.method !== 'GET') {
      return json(res, 405, statusBody(405, 'MethodNotAllowed', 'the server does not allow this method'));
    }
    switch (url.pathname) {
      case '/version':
        return json(res, 200, versionBody(this.#gitVersion));
      case '/readyz':
      case '/livez':
      case '/healthz':
        return text(res, 200, 'ok');
      case '/ekslink/eni':
        return json(res, 200, eniBody(eni, this.#gitVersion));
      case '/api':
        return json(res, 200, apiVersionsBody(eni, this.#port));
      case '/apis':
        return json(res, 200, apiGroupListBody());
      case '/api/v1':
        return json(res, 200, coreV1ResourcesBody());
      case WATCH_PATH:
        return isWatch(url) ? this.#watch(eni, url, res) : this.#list(eni, res);
      default:
        return json(
          res,
          404,
          statusBody(404, 'NotFound', 'the server could not find the requested resource'),
        );
    }
  }

  #list(eni: string, res: ServerResponse): void {
    const items = this.#items.map((i) => configMap({ ...i, eni }));
    json(res, 200, configMapList(items, this.#resourceVersion));
  }

  #watch(eni: string, url: URL, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    const since = Number(url.searchParams.get('resourceVersion') ?? 'NaN');
    if (Number.isFinite(since)) {
      for (const i of this.#items) {
        if (i.resourceVersion > since) res.write(watchEvent('ADDED', configMap({ ...i, eni })));
      }
    }
    const watcher: Watcher = { eni, res };
    this.#watchers.add(watcher);
    const timeoutSec = Number(url.searchParams.get('timeoutSeconds') ?? 'NaN');
    const timer =
      Number.isFinite(timeoutSec) && timeoutSec > 0
        ? setTimeout(() => res.end(), timeoutSec * 1000)
        : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      this.#watchers.delete(watcher);
    });
  }

  /** Adds one heartbeat ConfigMap and tells every open watch about it. */
  #tick(): void {
    this.#resourceVersion++;
    const item = {
      name: `heartbeat-${this.#resourceVersion}`,
      resourceVersion: this.#resourceVersion,
      createdAt: new Date(),
    };
    this.#items.push(item);
    if (this.#items.length > KEPT_ITEMS) this.#items.shift();
    for (const w of this.#watchers) w.res.write(watchEvent('ADDED', configMap({ ...item, eni: w.eni })));
  }
}

function isWatch(url: URL): boolean {
  const w = url.searchParams.get('watch');
  return w === 'true' || w === '1';
}

function json(res: ServerResponse, status: number, body: object): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
