/**
 * The peers the benchmark puts side by side, each started on loopback with the same job:
 * route by SNI (TLS passthrough) to an upstream found through the same DNS server.
 * - direct: no proxy (the ceiling);
 * - ekslink: the real CLI bundle, through the production config schema;
 * - haproxy: `mode tcp`, `req.ssl_sni`, a `resolvers` section;
 * - nginx: the stream module with `ssl_preread` and a `resolver`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { ProxyProcess } from '../demo/proxy-process.js';

export interface BenchRoutes {
  readonly rateSni: string;
  readonly bulkSni: string;
  readonly upstreamHost: string;
  /** The address DNS gives for upstreamHost (where `direct` connects). */
  readonly upstreamAddress: string;
  readonly ratePort: number;
  readonly bulkPort: number;
  readonly upstreamCidr: string;
  /** host:port of the DNS server that answers both SNIs. */
  readonly dnsServer: string;
}

export interface Peer {
  readonly name: string;
  /** Where the load client connects. */
  readonly host: string;
  portFor(mode: 'rate' | 'bulk'): number;
  stop(): Promise<void>;
}

export interface PeerFactory {
  readonly name: string;
  /** Why this peer cannot run here, or undefined when it can. */
  unavailable(): string | undefined;
  start(routes: BenchRoutes, workDir: string, workers: number): Promise<Peer>;
}

const CLI = 'dist/ekslink.mjs';
const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForPort(
  port: number,
  child: ChildProcess,
  name: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited early with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

function binaryOnPath(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => existsSync(join(dir, name)));
}

export const direct: PeerFactory = {
  name: 'direct',
  unavailable: () => undefined,
  async start(routes) {
    return {
      name: 'direct',
      host: routes.upstreamAddress,
      portFor: (mode) => (mode === 'rate' ? routes.ratePort : routes.bulkPort),
      stop: async () => {},
    };
  },
};

export const ekslink: PeerFactory = {
  name: 'ekslink',
  unavailable: () => (existsSync(CLI) ? undefined : `${CLI} missing: run \`npm run build\``),
  async start(routes, workDir, workers) {
    // The demo's launcher: production config schema and CLI, ports from the listening line.
    // It reads every output line, so the per-connection log lines are part of the cost.
    const proxy = await ProxyProcess.start({
      cliPath: CLI,
      dir: workDir,
      config: {
        listen: { host: '127.0.0.1', port: 0, backlog: 4096 },
        routes: [
          {
            sni: routes.rateSni,
            upstreamHost: routes.upstreamHost,
            upstreamPort: routes.ratePort,
            name: 'rate',
          },
          {
            sni: routes.bulkSni,
            upstreamHost: routes.upstreamHost,
            upstreamPort: routes.bulkPort,
            name: 'bulk',
          },
        ],
        allowedUpstreamCidrs: [routes.upstreamCidr],
        dns: { servers: [routes.dnsServer] },
        connections: { max: 20_000 },
        health: { host: '127.0.0.1', port: 0 },
        drain: { graceSec: 0, deadlineSec: 1 },
        workers,
        log: { level: 'info' },
      },
    });
    const port = proxy.listening.port;
    return { name: 'ekslink', host: '127.0.0.1', portFor: () => port, stop: () => proxy.stop() };
  },
};

export const haproxy: PeerFactory = {
  name: 'haproxy',
  unavailable: () =>
    binaryOnPath('haproxy') ? undefined : 'haproxy not installed (apt-get install haproxy)',
  async start(routes, workDir, workers) {
    const port = await freePort();
    const cfg = `global
  maxconn 4096
  nbthread ${workers}
defaults
  mode tcp
  timeout connect 2s
  timeout client 30s
  timeout server 30s
resolvers bench
  nameserver dns1 ${routes.dnsServer}
  hold valid 1s
  resolve_retries 3
  timeout resolve 1s
  timeout retry 1s
frontend fe
  bind 127.0.0.1:${port}
  tcp-request inspect-delay 5s
  tcp-request content accept if { req_ssl_hello_type 1 }
  use_backend rate if { req.ssl_sni -i ${routes.rateSni} }
  use_backend bulk if { req.ssl_sni -i ${routes.bulkSni} }
backend rate
  server-template eni 4 ${routes.upstreamHost}:${routes.ratePort} resolvers bench init-addr none
backend bulk
  server-template eni 4 ${routes.upstreamHost}:${routes.bulkPort} resolvers bench init-addr none
`;
    const cfgPath = join(workDir, 'haproxy.cfg');
    await writeFile(cfgPath, cfg);
    const child = spawn('haproxy', ['-db', '-q', '-f', cfgPath], { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitForPort(port, child, 'haproxy');
    // Servers come from DNS after start: give the resolvers a moment to fill them in.
    await new Promise((r) => setTimeout(r, 1500));
    return {
      name: 'haproxy',
      host: '127.0.0.1',
      portFor: () => port,
      stop: () => stopChild(child, 'SIGUSR1'),
    };
  },
};

export const nginx: PeerFactory = {
  name: 'nginx',
  unavailable: () =>
    binaryOnPath('nginx') && existsSync(NGINX_STREAM_MODULE)
      ? undefined
      : 'nginx with the stream module not installed (apt-get install nginx libnginx-mod-stream)',
  async start(routes, workDir, workers) {
    const port = await freePort();
    const conf = `load_module ${NGINX_STREAM_MODULE};
worker_processes ${workers};
pid ${workDir}/nginx.pid;
error_log ${workDir}/nginx-error.log warn;
events { worker_connections 20000; }
stream {
  resolver ${routes.dnsServer} valid=1s ipv6=off;
  map $ssl_preread_server_name $upstream {
    ${routes.rateSni} ${routes.upstreamHost}:${routes.ratePort};
    ${routes.bulkSni} ${routes.upstreamHost}:${routes.bulkPort};
    default 127.0.0.1:9;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    ssl_preread on;
    proxy_pass $upstream;
    proxy_connect_timeout 2s;
    proxy_half_close on;
  }
}
`;
    const confPath = join(workDir, 'nginx.conf');
    await writeFile(confPath, conf);
    const child = spawn('nginx', ['-p', workDir, '-c', confPath, '-g', 'daemon off;'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitForPort(port, child, 'nginx');
    return { name: 'nginx', host: '127.0.0.1', portFor: () => port, stop: () => stopChild(child, 'SIGQUIT') };
  },
};

export const PEERS: readonly PeerFactory[] = [direct, ekslink, haproxy, nginx];
