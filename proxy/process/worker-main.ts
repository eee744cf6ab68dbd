/**
 * Entry point of a data-plane worker process (bundled as dist/proxy-worker.mjs). The
 * primary forks this file rather than the whole CLI, so a worker loads only the data path:
 * no config validation (zod), no YAML, no HTTP client, no CLI. The config arrives over IPC,
 * already validated by the primary.
 */
import { runWorker } from './worker.js';

process.exitCode = await runWorker();
