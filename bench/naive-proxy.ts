/**
 * The naive Node passthrough the benchmark holds ekslink against: what one writes in an
 * afternoon on the same Node. Reads the ClientHello, takes the SNI, resolves the route's
 * host through the given DNS server with a TTL cache, picks an address round robin,
 * connects and pipes. No guards, no metrics, no log lines. Self-contained: the bench runs it
 * as plain JavaScript (bench/naive-script.ts strips the types first), so nothing but the
 * proxy is in its memory:
 *
 *   node naive-proxy.mjs '{"dnsServer":"127.0.0.1:53","routes":{"sni":{"host":"h","port":443}}}'
 */
import { Resolver } from 'node:dns/promises';
import net from 'node:net';

interface NaiveConfig {
  readonly dnsServer: string;
  readonly routes: Record<string, { readonly host: string; readonly port: number }>;
}
interface Entry {
  readonly addresses: Promise<string[]>;
  readonly expires: number;
  next: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as NaiveConfig;
const resolver = new Resolver({ timeout: 1000, tries: 2 });
resolver.setServers([config.dnsServer]);
const cache = new Map<string, Entry>();

async function pick(host: string): Promise<string> {
  let entry = cache.get(host);
  if (!entry || entry.expires < Date.now()) {
    const answers = resolver.resolve4(host, { ttl: true });
    const ttlSec = await answers.then(
      (a) => Math.min(...a.map((x) => x.ttl)),
      () => 0,
    );
    entry = {
      addresses: answers.then((a) => a.map((x) => x.address)),
      expires: Date.now() + ttlSec * 1000,
      next: 0,
    };
    cache.set(host, entry);
  }
  const addresses = await entry.addresses;
  return addresses[entry.next++ % addresses.length] as string;
}

/** The SNI of a complete ClientHello record, or undefined (throws RangeError when truncated). */
function sniOf(hello: Buffer): string | undefined {
  let p = 5 + 4 + 2 + 32; // record header, handshake header, version, random
  p += 1 + hello.readUInt8(p); // session id
  p += 2 + hello.readUInt16BE(p); // cipher suites
  p += 1 + hello.readUInt8(p); // compression methods
  const end = p + 2 + hello.readUInt16BE(p);
  for (p += 2; p + 4 <= end; p += 4 + hello.readUInt16BE(p + 2)) {
    if (hello.readUInt16BE(p) === 0)
      return hello.toString('latin1', p + 9, p + 9 + hello.readUInt16BE(p + 7));
  }
  return undefined;
}

const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
  let hello = Buffer.alloc(0);
  client.on('error', () => client.destroy());
  const onData = (chunk: Buffer) => {
    hello = Buffer.concat([hello, chunk]);
    if (hello.length < 5 || hello.length < 5 + hello.readUInt16BE(3)) {
      if (hello.length > 16_384 + 5) client.destroy();
      return;
    }
    client.off('data', onData);
    client.pause();
    let route;
    try {
      route = config.routes[sniOf(hello) ?? ''];
    } catch {
      route = undefined;
    }
    if (!route) return void client.destroy();
    const { port } = route;
    pick(route.host).then(
      (host) => {
        const upstream = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
        upstream.on('error', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.write(hello);
        client.pipe(upstream);
        upstream.pipe(client);
      },
      () => client.destroy(),
    );
  };
  client.on('data', onData);
});
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  process.stdout.write(`${JSON.stringify({ listening: (server.address() as net.AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
