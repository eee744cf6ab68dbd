/**
 * A cluster worker's whole life: wait for the config, serve, obey the primary, and exit
 * when the primary disconnects (which it also does by dying).
 */
import cluster from 'node:cluster';
import { createLogger } from '../../common/logger.js';
import type { ProxyConfig } from '../config/schema.js';
import { ProxyServer } from '../connection/server.js';
import { LOG_BUFFER_BYTES } from './data-plane.js';
import { ProxyMetrics } from './metrics.js';
import { errorReply, isRequest, type Reply, type Request } from './worker-ipc.js';

export async function runWorker(): Promise<number> {
  // The primary decides when to drain; a signal sent to the whole process group (systemd's
  // default KillMode, Ctrl-C) must not make workers leave on their own.
  for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, () => {});
  let server: ProxyServer | undefined;
  let metrics: ProxyMetrics | undefined;
  const done = new Promise<void>((resolve) => process.once('disconnect', () => resolve()));

  const handle = async (req: Request): Promise<unknown> => {
    switch (req.op) {
      case 'start': {
        const config = req.config as ProxyConfig;
        const logger = createLogger({
          level: config.log.level,
          base: { component: 'proxy', worker: cluster.worker?.id },
          bufferBytes: LOG_BUFFER_BYTES,
          redactSecrets: false,
        });
        metrics = new ProxyMetrics({ routes: config.routes.map((r) => r.name) });
        const s = new ProxyServer({ config, logger, observer: metrics, reusePort: true });
        server = s;
        metrics.beforeCollect = () => s.flushByteCounts();
        return s.listen();
      }
      case 'reload':
        metrics?.addRoutes((req.config as ProxyConfig).routes.map((r) => r.name));
        server?.reload(req.config as ProxyConfig);
        return undefined;
      case 'stopAccepting':
        return server?.stopAccepting();
      case 'drain':
        return server?.drain(req.deadlineMs ?? 0);
      case 'destroy':
        server?.destroy();
        return undefined;
      case 'active':
        return server?.activeConnections ?? 0;
      case 'metrics':
        return metrics?.snapshot() ?? [];
    }
  };

  process.on('message', (m: unknown) => {
    if (!isRequest(m)) return;
    handle(m).then(
      (value) => reply({ ekslink: 'rep', id: m.id, ok: true, value }),
      (err: unknown) => reply(errorReply(m.id, err)),
    );
  });
  await done;
  server?.destroy();
  return 0;
}

function reply(r: Reply): void {
  if (process.connected) process.send?.(r);
}
