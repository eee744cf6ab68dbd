/**
 * The peers the benchmark puts side by side, each started on loopback with the same job:
 * route by SNI (TLS passthrough) to an upstream found through the same DNS server.
 * - direct: no proxy (the baseline for added latency);
 * - ekslink: the real CLI bundle, through the production config schema, `workers` left at
 *   its default (`auto`: one per two vCPUs, so one here);
 * - ekslink-w2: the same with `workers: 2` (one per vCPU here: the default before it was measured);
 * - haproxy: `mode tcp`, `req.ssl_sni`, a `resolvers` section;
 * - nginx: the stream module with `ssl_preread` and a `resolver`;
 * - naive: a 60-line Node passthrough (bench/naive-proxy.ts) on the same Node.
 *
 * Over 300 lines: one factory per peer (six), each a config and a start, side by side so
 * the jobs they are given can be compared at a glance.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { ProxyProcess } from '../demo/proxy-process.js';
import { writeNaiveProxyScript } from './naive-script.js';
import type { ProxyConfigInput } from '../proxy/config/schema.js';

export type TrafficKind = 'plain' | 'tls';

export interface BenchRoutes {
  readonly plainSni: string;
  readonly tlsSni: string;
  readonly upstreamHost: string;
  /** The address DNS gives for upstreamHost (where `direct` connects). */
  readonly upstreamAddress: string;
  readonly plainPort: number;
  readonly tlsPort: number;
  readonly upstreamCidr: string;
  /** host:port of the DNS server that answers upstreamHost. */
  readonly dnsServer: string;
}

export interface Peer {
  readonly name: string;
  /** Where the load client connects. */
  readonly host: string;
  portFor(kind: TrafficKind): number;
  /** The root of the peer's process tree (undefined for direct: nothing to measure). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
  /** Last resort from an exit hook: synchronous. */
  kill(): void;
}

export interface PeerOptions {
  readonly workDir: string;
  /** HAProxy nbthread and nginx worker_processes. */
  readonly threads: number;
  /** Connections each proxy must accept at once (the idle phase holds this many). */
  readonly maxConnections: number;
  /** The open-file limit the peers inherit (HAProxy and nginx are told to stay within it). */
  readonly openFiles: number;
}

export interface PeerFactory {
  readonly name: string;
  /** What the peer is, for the report. */
  readonly description: string;
  /** Why this peer cannot run here, or undefined when it can. */
  unavailable(): string | undefined;
  start(routes: BenchRoutes, options: PeerOptions): Promise<Peer>;
}

const CLI = 'dist/ekslink.mjs';
const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
const START_TIMEOUT_MS = 10_000;

async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
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
  throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms`);
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
  description: 'no proxy: the load client connects to the upstream itself',
  unavailable: () => undefined,
  async start(routes) {
    return {
      name: 'direct',
      host: routes.upstreamAddress,
      portFor: (kind) => (kind === 'plain' ? routes.plainPort : routes.tlsPort),
      pid: undefined,
      stop: async () => {},
      kill: () => {},
    };
  },
};

function ekslinkConfig(routes: BenchRoutes, options: PeerOptions): ProxyConfigInput {
  return {
    listen: { host: '127.0.0.1', port: 0, backlog: 4096 },
    routes: [
      {
        sni: routes.plainSni,
        upstreamHost: routes.upstreamHost,
        upstreamPort: routes.plainPort,
        name: 'plain',
      },
      { sni: routes.tlsSni, upstreamHost: routes.upstreamHost, upstreamPort: routes.tlsPort, name: 'tls' },
    ],
    allowedUpstreamCidrs: [routes.upstreamCidr],
    dns: { servers: [routes.dnsServer] },
    connections: { max: options.maxConnections },
    health: { host: '127.0.0.1', port: 0 },
    drain: { graceSec: 0, deadlineSec: 1 },
    log: { level: 'info' },
  };
}

function ekslinkPeer(name: string, workers: number | undefined): PeerFactory {
  return {
    name,
    description:
      workers === undefined
        ? 'the ekslink CLI bundle, production schema, default workers (auto: one per two vCPUs), log line per connection'
        : `the same with workers: ${workers}`,
    unavailable: () => (existsSync(CLI) ? undefined : `${CLI} missing: run \`npm run build\``),
    async start(routes, options) {
      // The demo's launcher: production config schema and CLI, ports from the listening line.
      // It reads every output line (in this process), so the log lines are written for real.
      const config = ekslinkConfig(routes, options);
      const proxy = await ProxyProcess.start({
        cliPath: CLI,
        dir: options.workDir,
        config: workers === undefined ? config : { ...config, workers },
      });
      const port = proxy.listening.port;
      return {
        name,
        host: '127.0.0.1',
        portFor: () => port,
        pid: proxy.pid,
        stop: () => proxy.stop(),
        kill: () => proxy.killNow(),
      };
    },
  };
}

export const ekslink = ekslinkPeer('ekslink', undefined);
export const ekslinkTwoWorkers = ekslinkPeer('ekslink-w2', 2);

export const haproxy: PeerFactory = {
  name: 'haproxy',
  description: 'mode tcp, req.ssl_sni routing, server-template from a resolvers section (hold valid 1s)',
  unavailable: () =>
    binaryOnPath('haproxy') ? undefined : 'haproxy not installed (apt-get install haproxy)',
  async start(routes, options) {
    const port = await freePort();
    // Two descriptors per connection; HAProxy refuses a maxconn the open-file limit cannot hold.
    const maxconn = Math.min(options.maxConnections, Math.floor((options.openFiles - 200) / 2));
    const cfg = `global
  maxconn ${maxconn}
  nbthread ${options.threads}
defaults
  mode tcp
  maxconn ${maxconn}
  timeout connect 2s
  timeout client 60s
  timeout server 60s
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
  use_backend plain if { req.ssl_sni -i ${routes.plainSni} }
  use_backend tls if { req.ssl_sni -i ${routes.tlsSni} }
backend plain
  server-template eni 4 ${routes.upstreamHost}:${routes.plainPort} resolvers bench init-addr none
backend tls
  server-template eni 4 ${routes.upstreamHost}:${routes.tlsPort} resolvers bench init-addr none
`;
    const cfgPath = join(options.workDir, 'haproxy.cfg');
    await writeFile(cfgPath, cfg);
    const child = spawn('haproxy', ['-db', '-q', '-f', cfgPath], { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitForPort(port, child, 'haproxy');
    // Servers come from DNS after start: give the resolvers a moment to fill them in.
    await new Promise((r) => setTimeout(r, 1500));
    return {
      name: 'haproxy',
      host: '127.0.0.1',
      portFor: () => port,
      pid: child.pid,
      stop: () => stopChild(child, 'SIGUSR1'),
      kill: () => child.kill('SIGKILL'),
    };
  },
};

export const nginx: PeerFactory = {
  name: 'nginx',
  description: 'stream module, ssl_preread, proxy_pass $upstream with resolver valid=1s',
  unavailable: () =>
    binaryOnPath('nginx') && existsSync(NGINX_STREAM_MODULE)
      ? undefined
      : 'nginx with the stream module not installed (apt-get install nginx libnginx-mod-stream)',
  async start(routes, options) {
    const port = await freePort();
    const conf = `load_module ${NGINX_STREAM_MODULE};
worker_processes ${options.threads};
worker_rlimit_nofile ${options.openFiles};
pid ${options.workDir}/nginx.pid;
error_log ${options.workDir}/nginx-error.log warn;
events { worker_connections ${Math.min(options.maxConnections * 2, options.openFiles - 100)}; }
stream {
  resolver ${routes.dnsServer} valid=1s ipv6=off;
  map $ssl_preread_server_name $upstream {
    ${routes.plainSni} ${routes.upstreamHost}:${routes.plainPort};
    ${routes.tlsSni} ${routes.upstreamHost}:${routes.tlsPort};
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
    const confPath = join(options.workDir, 'nginx.conf');
    await writeFile(confPath, conf);
    const child = spawn('nginx', ['-p', options.workDir, '-c', confPath, '-g', 'daemon off;'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitForPort(port, child, 'nginx');
    return {
      name: 'nginx',
      host: '127.0.0.1',
      portFor: () => port,
      pid: child.pid,
      stop: () => stopChild(child, 'SIGQUIT'),
      kill: () => child.kill('SIGKILL'),
    };
  },
};

export const naive: PeerFactory = {
  name: 'naive',
  description: 'bench/naive-proxy.ts: SNI, TTL-cached resolver, round robin, net.connect + pipe, same Node',
  unavailable: () => undefined,
  async start(routes, options) {
    const config = {
      dnsServer: routes.dnsServer,
      routes: {
        [routes.plainSni]: { host: routes.upstreamHost, port: routes.plainPort },
        [routes.tlsSni]: { host: routes.upstreamHost, port: routes.tlsPort },
      },
    };
    const script = await writeNaiveProxyScript(options.workDir);
    const child = spawn(process.execPath, [script, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`naive proxy did not listen within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n')[0] ?? '';
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { listening: number }).listening);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`naive proxy exited with code ${code} before listening`));
      });
    });
    return {
      name: 'naive',
      host: '127.0.0.1',
      portFor: () => port,
      pid: child.pid,
      stop: () => stopChild(child),
      kill: () => child.kill('SIGKILL'),
    };
  },
};

export const PEERS: readonly PeerFactory[] = [direct, ekslink, ekslinkTwoWorkers, haproxy, nginx, naive];
