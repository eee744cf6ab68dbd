import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltinClient } from '../../demo/builtin-client.js';
import { eniResult, lineReader, shortError } from '../../demo/client.js';
import { formatServedBy } from '../../demo/format.js';
import { LiveView, renderPanel } from '../../demo/live-view.js';
import { formatProxyFigures, proxyFigures } from '../../demo/proxy-metrics.js';
import { demoProxyConfig, parseListening } from '../../demo/proxy-process.js';
import { addressRange, defaultIntervalMs, planRotations } from '../../demo/rotation.js';
import { createState, recordRequest, totalFailures, type DemoState } from '../../demo/state.js';
import { formatSummary, verdict } from '../../demo/summary.js';
import { parseProxyConfig } from '../../proxy/config/schema.js';
import { EksStandin } from '../../standins/eks-standin.js';
import { createPki, type TestPki } from '../../standins/pki.js';

const HOST = '3f1b2c9d0e8a7f6b5c4d3e2f1a0b9c8d.gr7.us-east-1.eks.amazonaws.com';

describe('rotation plan', () => {
  it('replaces the oldest ENI with a new one per step, and stops the old one after the drain delay', () => {
    const plan = planRotations({
      initial: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
      spare: ['10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.7'],
      durationMs: 30_000,
    });
    expect(plan.map((s) => [s.atMs, s.removeAtMs, s.added, s.removed, s.dnsAfter.join(' ')])).toEqual([
      [7500, 10500, '10.0.0.4', '10.0.0.1', '10.0.0.2 10.0.0.3 10.0.0.4'],
      [15000, 18000, '10.0.0.5', '10.0.0.2', '10.0.0.3 10.0.0.4 10.0.0.5'],
      [22500, 25500, '10.0.0.6', '10.0.0.3', '10.0.0.4 10.0.0.5 10.0.0.6'],
    ]);
  });

  it('gives a short run at least two rotations and never rotates faster than every 2 s', () => {
    expect(defaultIntervalMs(8000)).toBe(2000);
    expect(defaultIntervalMs(3000)).toBe(2000);
    expect(defaultIntervalMs(600_000)).toBe(8000);
    const plan = planRotations({
      initial: ['a', 'b', 'c'],
      spare: addressRange('127.0.10', 4, 9),
      durationMs: 8000,
    });
    expect(plan).toHaveLength(3);
    expect(plan.every((s) => s.removeAtMs - s.atMs === 1200)).toBe(true);
  });

  it('stops when spare addresses run out and refuses nonsense', () => {
    expect(planRotations({ initial: ['a', 'b'], spare: ['c'], durationMs: 60_000 })).toHaveLength(1);
    expect(() => planRotations({ initial: ['a'], spare: [], durationMs: 1 })).toThrow(/at least two/);
    expect(() =>
      planRotations({
        initial: ['a', 'b'],
        spare: ['c'],
        durationMs: 10_000,
        intervalMs: 1000,
        drainDelayMs: 1000,
      }),
    ).toThrow(/shorter/);
  });
});

function stateWith(mode: DemoState['mode']): DemoState {
  return createState({
    mode,
    client: 'kubectl',
    hostname: HOST,
    target: '127.0.0.1:1234',
    durationMs: 30_000,
    dnsAnswer: ['127.0.10.1', '127.0.10.2'],
    enis: ['127.0.10.1', '127.0.10.2'],
    now: 1_000_000,
  });
}

describe('state, summary and verdict', () => {
  it('passes only with zero failures through the proxy', () => {
    const s = stateWith('proxy');
    recordRequest(s, { ok: true, eni: '127.0.10.1', latencyMs: 40 });
    recordRequest(s, { ok: true, eni: '127.0.10.2', latencyMs: 60 });
    s.rotations = 2;
    expect(verdict(s, false)).toMatchObject({ exitCode: 0 });
    const text = formatSummary(s, verdict(s, false), 8000);
    expect(text).toMatch(/requests +2 total, 2 ok, 0 failed/);
    expect(text).toMatch(/ENIs served +2: 127\.0\.10\.\{1: 1, 2: 1\}/);
    expect(text).toMatch(/PASS: every request succeeded through 2 ENI rotations/);

    recordRequest(s, { ok: false, error: 'refused', latencyMs: 5 }, 1_003_000);
    expect(verdict(s, false)).toMatchObject({ exitCode: 1 });
    expect(s.firstFailureAtMs).toBe(3000);
    expect(formatSummary(s, verdict(s, false), 8000)).toMatch(/error ×1 +refused/);
  });

  it('counts watch streams that could not open as failures', () => {
    const s = stateWith('proxy');
    recordRequest(s, { ok: true, eni: '127.0.10.1', latencyMs: 40 });
    s.watch.failedOpens = 1;
    expect(totalFailures(s)).toBe(1);
    expect(verdict(s, false).exitCode).toBe(1);
  });

  it('exits non-zero without the proxy and says failures were expected', () => {
    const s = stateWith('no-proxy');
    recordRequest(s, { ok: false, error: 'connection refused', latencyMs: 5 });
    expect(verdict(s, false)).toMatchObject({
      exitCode: 1,
      message: expect.stringMatching(/^EXPECTED FAILURE/),
    });
    expect(verdict(stateWith('no-proxy'), true).exitCode).toBe(130);
    expect(verdict(stateWith('proxy'), false)).toMatchObject({
      exitCode: 1,
      message: 'FAIL: no request completed',
    });
  });

  it('keeps memory bounded: distinct errors are capped', () => {
    const s = stateWith('proxy');
    for (let i = 0; i < 50; i++) recordRequest(s, { ok: false, error: `e${i}`, latencyMs: 1 });
    expect(s.errors.size).toBe(9);
    expect(s.errors.get('(other errors)')).toBe(42);
  });
});

describe('live view', () => {
  it('redraws in place on a TTY: cursor up over the previous panel, then clear', () => {
    let out = '';
    const view = new LiveView({
      out: { write: (t) => (out += t) },
      tty: true,
      columns: 60,
      now: () => 1_002_000,
    });
    const s = stateWith('proxy');
    view.refresh(s);
    const first = out;
    expect(first.startsWith('\x1b[J')).toBe(true);
    const lines = first.split('\n').length - 1;
    out = '';
    view.refresh(s);
    expect(out.startsWith(`\x1b[${lines}F\x1b[J`)).toBe(true);
    const body = out.slice(`\x1b[${lines}F\x1b[J`.length);
    for (const l of body.split('\n')) expect(l.length).toBeLessThanOrEqual(60);
  });

  it('prints no progress spam when not a TTY: events, and a status line every few seconds', () => {
    let now = 1_000_000;
    let out = '';
    const view = new LiveView({
      out: { write: (t) => (out += t) },
      tty: false,
      now: () => now,
      statusEveryMs: 5000,
    });
    const s = stateWith('proxy');
    for (let i = 0; i < 40; i++) {
      now += 250;
      view.refresh(s);
    }
    expect(out.split('\n').filter(Boolean)).toHaveLength(2);
    expect(out).not.toContain('\x1b[');
    view.event('rotation 1: ENI 127.0.10.4 up');
    expect(out.endsWith('rotation 1: ENI 127.0.10.4 up\n')).toBe(true);
  });

  it('renders the panel with the counts per ENI, DNS answer, rotations and watch status', () => {
    const s = stateWith('proxy');
    recordRequest(s, { ok: true, eni: '127.0.10.2', latencyMs: 40 });
    s.watch.status = 'streaming';
    s.watch.lastEni = '127.0.10.2';
    s.watch.events = 4;
    s.watch.streams = 1;
    const text = renderPanel(s, 1_004_000, 100).join('\n');
    expect(text).toContain('ok 1   failed 0');
    expect(text).toContain('served by  127.0.10.{2: 1}');
    expect(text).toContain('DNS now    127.0.10.1 127.0.10.2');
    expect(text).toContain('watch      streaming from 127.0.10.2, 4 events');
  });

  it('formats per-ENI counts compactly and in address order', () => {
    expect(
      formatServedBy(
        new Map([
          ['127.0.10.10', 1],
          ['127.0.10.9', 2],
        ]),
      ),
    ).toBe('127.0.10.{9: 2, 10: 1}');
    expect(
      formatServedBy(
        new Map([
          ['10.0.0.1', 1],
          ['10.0.1.1', 2],
        ]),
      ),
    ).toBe('10.0.0.1 1  10.0.1.1 2');
    expect(shortError('\n\nerror: The connection was refused\nmore')).toBe('The connection was refused');
  });
});

describe('the proxy child', () => {
  it('writes a config the production schema accepts: loopback CIDR only, port 0, one worker', () => {
    const cfg = parseProxyConfig(
      demoProxyConfig({
        hostname: HOST,
        upstreamPort: 4443,
        dnsServer: '127.0.0.1:5353',
        allowedCidr: '127.0.10.0/24',
      }),
    );
    expect(cfg.listen).toMatchObject({ host: '127.0.0.1', port: 0 });
    expect(cfg.health.port).toBe(0);
    expect(cfg.workers).toBe(1);
    expect(cfg.allowedUpstreamCidrs).toEqual(['127.0.10.0/24']);
    expect(cfg.routes).toEqual([{ sni: HOST, upstreamHost: HOST, upstreamPort: 4443, name: 'demo-cluster' }]);
    expect(cfg.dns.servers).toEqual(['127.0.0.1:5353']);
  });

  it('reads the ports from the listening line and nothing else', () => {
    expect(
      parseListening(
        '{"level":"info","event":"listening","address":"127.0.0.1","port":41000,"healthPort":41001}',
      ),
    ).toEqual({
      address: '127.0.0.1',
      port: 41000,
      healthPort: 41001,
    });
    expect(parseListening('{"event":"listening","port":"41000","healthPort":1}')).toBeUndefined();
    expect(parseListening('{"event":"connection","msg":"listening"}')).toBeUndefined();
    expect(parseListening('"listening" but not JSON')).toBeUndefined();
  });
});

describe('proxy figures from /metrics', () => {
  it('sums the Prometheus text the proxy serves', () => {
    const text = [
      '# HELP ekslink_connections_opened_total Connections accepted.',
      '# TYPE ekslink_connections_opened_total counter',
      'ekslink_connections_opened_total 42',
      'ekslink_connections_closed_total{route="demo-cluster",reason="ok"} 40',
      'ekslink_connections_closed_total{route="demo-cluster",reason="upstream_connect_failed"} 2',
      'ekslink_connections_closed_total{route="none",reason="sni_not_allowed"} 0',
      'ekslink_upstream_connect_failures_total{route="demo-cluster",reason="refused"} 3',
      'ekslink_dns_lookup_duration_seconds_count{route="demo-cluster",result="ok"} 41',
      'ekslink_dns_lookup_duration_seconds_count{route="demo-cluster",result="stale"} 1',
      'ekslink_dns_stale_answers_total{route="demo-cluster"} 1',
      'garbage line',
    ].join('\n');
    const f = proxyFigures(text);
    expect(f).toEqual({
      connectionsOpened: 42,
      closedByReason: new Map([
        ['ok', 40],
        ['upstream_connect_failed', 2],
      ]),
      upstreamConnectFailures: 3,
      dnsLookups: 42,
      dnsStaleAnswers: 1,
    });
    expect(formatProxyFigures(f)[0]).toBe(
      'proxy connections 42 opened; closed: ok 40, upstream_connect_failed 2',
    );
  });
});

describe('built-in client against the stand-in', () => {
  let pki: TestPki;
  let standin: EksStandin;
  beforeAll(async () => {
    pki = await createPki({ dnsNames: [HOST] });
    standin = await EksStandin.start({
      addresses: ['127.0.20.31', '127.0.20.32'],
      pki,
      token: 'tok',
      watchIntervalMs: 100,
    });
  });
  afterAll(() => standin.close());

  it('names the ENI that answered, checks the certificate and sends the token', async () => {
    const ok = new BuiltinClient({
      server: `https://127.0.20.31:${standin.port}`,
      tlsServerName: HOST,
      caCertPem: pki.caCertPem,
      token: 'tok',
    });
    expect(await ok.request(2000)).toMatchObject({ ok: true, eni: '127.0.20.31' });
    const badToken = new BuiltinClient({
      server: `https://127.0.20.31:${standin.port}`,
      tlsServerName: HOST,
      caCertPem: pki.caCertPem,
      token: 'x',
    });
    expect(await badToken.request(2000)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^HTTP 401/),
    });
    const badName = new BuiltinClient({
      server: `https://127.0.20.31:${standin.port}`,
      tlsServerName: 'other.example.com',
      caCertPem: pki.caCertPem,
      token: 'tok',
    });
    expect(await badName.request(2000)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/ERR_TLS_CERT_ALTNAME_INVALID/),
    });
  });

  it('streams watch events and reports the end when the ENI goes away', async () => {
    const client = new BuiltinClient({
      server: `https://127.0.20.32:${standin.port}`,
      tlsServerName: HOST,
      caCertPem: pki.caCertPem,
      token: 'tok',
    });
    const seen: string[] = [];
    const ended = new Promise<string | undefined>((resolve) => {
      client.watch({
        onEvent: (name, eni) => {
          seen.push(`${name}@${eni}`);
          if (seen.length === 2) void standin.removeEni('127.0.20.32');
        },
        onEnd: resolve,
      });
    });
    await ended;
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (const s of seen) expect(s).toMatch(/^heartbeat-\d+@127\.0\.20\.32$/);
    expect(await client.request(1000)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/ECONNREFUSED/),
    });
  });
});

describe('client helpers shared by kubectl and the built-in client', () => {
  it('reads the ENI from the stand-in body, and names anything else', () => {
    expect(eniResult('{"eni":"127.0.10.1"}', 3)).toEqual({ ok: true, eni: '127.0.10.1', latencyMs: 3 });
    expect(eniResult('{"eni":1}', 3)).toMatchObject({ ok: false, error: 'unexpected response: {"eni":1}' });
    expect(eniResult('<html>', 3)).toMatchObject({ ok: false, error: 'unexpected response: <html>' });
  });

  it('splits lines across chunks, stops when told, and refuses an endless line', () => {
    const lines: string[] = [];
    const feed = lineReader((l) => (lines.push(l), l !== 'stop'), 10);
    expect(feed('a\nb')).toBe(true);
    expect(feed('c\nstop\nafter\n')).toBe(false);
    expect(feed('more\n')).toBe(false);
    expect(lines).toEqual(['a', 'bc', 'stop']);
    const long = lineReader(() => true, 10);
    expect(long('x'.repeat(11))).toBe(false);
  });

  it('built-in watch: an unparsable event ends the watch once and closes the stream (no events after the end)', async () => {
    const pki = await createPki({ dnsNames: [HOST] });
    const sockets = new Set<Socket>();
    let streamClosed = false;
    let serverSawClose: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (serverSawClose = resolve));
    const server = createHttpsServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const event = (n: number): string =>
        `${JSON.stringify({ type: 'ADDED', object: { metadata: { name: `cm-${n}` }, data: { servedBy: 'x' } } })}\n`;
      res.write(event(1) + 'not json\n' + event(2));
      let n = 3;
      const timer = setInterval(() => res.write(event(n++)), 20);
      req.socket.once('close', () => {
        clearInterval(timer);
        streamClosed = true;
        serverSawClose();
      });
    });
    server.on('connection', (s: Socket) => sockets.add(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const client = new BuiltinClient({
        server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
        tlsServerName: HOST,
        caCertPem: pki.caCertPem,
        token: 'tok',
      });
      const events: string[] = [];
      const ends: (string | undefined)[] = [];
      client.watch({ onEvent: (name) => events.push(name), onEnd: (e) => ends.push(e) });
      // Bounded wait: a client that leaves the stream open would otherwise hang the test.
      await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))]);
      expect(streamClosed).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
      expect(events).toEqual(['cm-1']);
      expect(ends).toEqual(['unparsable watch event']);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});
