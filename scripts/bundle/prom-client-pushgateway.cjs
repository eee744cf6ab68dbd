'use strict';
/* global module */
// Stands in for prom-client's lib/pushgateway.js in ekslink's bundle (lean-serving-process.mjs):
// the real one loads node:http, node:https, node:tls and node:zlib into every process that
// requires prom-client, and ekslink's metrics are scraped from /metrics, never pushed.
module.exports = class Pushgateway {
  constructor() {
    throw new Error(
      "prom-client's Pushgateway is not in ekslink's bundle (scripts/bundle/lean-serving-process.mjs): " +
        'scrape /metrics on the health port instead',
    );
  }
};
