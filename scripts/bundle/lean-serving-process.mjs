// An esbuild plugin that keeps what the serving proxy never uses out of its memory. Measured
// on Node 24 (RSS of the idle proxy, `npm run bench`): each item below is what one
// unused part of Node or of a dependency costs the process for its whole life.
//
// 1. Node built-ins are taken with require(), not as ES module namespaces. Node builds the
//    namespace of a built-in by reading every export, which runs its lazy getters: node:http's
//    WebSocket, EventSource and fetch getters load Node's bundled undici (12 MiB of RSS), and
//    node:tls's rootCertificates parses the CA store. With require() the getters run only
//    when the code reads them. The `require` is the one the bundle's banner defines.
// 2. prom-client's Pushgateway is replaced by a class that refuses to be built: prom-client
//    loads it (with node:http, node:https, node:tls and node:zlib) on `require('prom-client')`,
//    and the proxy is scraped, it never pushes.
// 3. pino's thread-stream is replaced the same way: pino loads it (and node:worker_threads,
//    node:assert) for transports, and ekslink writes its own log lines
//    (common/batched-lines.ts, pino.destination).
import { isBuiltin } from 'node:module';
import { fileURLToPath, URL } from 'node:url';

const NAMESPACE = 'builtin-via-require';
const REPLACED = new Map([
  // [what is imported, the importing package] -> the file that stands in for it
  ['./lib/pushgateway|prom-client', fileURLToPath(new URL('./prom-client-pushgateway.cjs', import.meta.url))],
  ['thread-stream|pino', fileURLToPath(new URL('./thread-stream.cjs', import.meta.url))],
]);

function importingPackage(importer) {
  const m = /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/](?!.*node_modules)/.exec(importer);
  return m ? m[1].replace('\\', '/') : undefined;
}

export const leanServingProcess = {
  name: 'lean-serving-process',
  setup(build) {
    build.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      if (args.kind !== 'import-statement' && args.kind !== 'dynamic-import') return undefined;
      // node:module is what the banner takes createRequire from: it stays an import.
      if (!isBuiltin(args.path) || args.path === 'node:module') return undefined;
      return { path: args.path, namespace: NAMESPACE };
    });
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
    build.onResolve({ filter: /^(\.\/lib\/pushgateway|thread-stream)$/ }, (args) => {
      const path = REPLACED.get(`${args.path}|${importingPackage(args.importer)}`);
      return path === undefined ? undefined : { path };
    });
  },
};
