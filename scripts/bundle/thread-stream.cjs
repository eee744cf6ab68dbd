'use strict';
/* global module */
// Stands in for thread-stream in ekslink's bundle (lean-serving-process.mjs): pino requires it
// for transports, which load node:worker_threads and node:assert into every process that
// requires pino; ekslink writes its log lines itself (common/batched-lines.ts, pino.destination).
module.exports = class ThreadStream {
  constructor() {
    throw new Error(
      "pino transports are not in ekslink's bundle (scripts/bundle/lean-serving-process.mjs): " +
        'ekslink writes JSON lines to standard output; ship them from there',
    );
  }
};
