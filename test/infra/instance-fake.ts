/**
 * Fake of what an Auto Scaling instance talks to: its IMDSv2 (token, identity, tags, role
 * credentials, `autoscaling/target-lifecycle-state`) and the Auto Scaling Query API calls
 * the on-instance watchers make (`CompleteLifecycleAction`, `SetInstanceHealth`), sharing one
 * instance's lifecycle state machine. Spec: instance-fake.md; tests: instance-fake.test.ts.
 *
 * Runs in-process (its own tests) or as a process inside a test's network namespace, where
 * IMDS listens on 169.254.169.254:80 as on EC2 (`node test/infra/instance-fake.ts '<json>'`;
 * commands as JSON lines on stdin, events as JSON lines on stdout). Node strips the types,
 * so this file imports nothing but node: modules.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';

export interface InstanceFakeOptions {
  readonly instanceId: string;
  readonly region: string;
  readonly groupName: string;
  /** The group's termination hook (the only hook the fake knows). */
  readonly hookName: string;
  /**
   * How long the target group's deregistration delay holds the instance before the hook is
   * active; `null`: until `deregistrationComplete()` (a test decides when the delay is over).
   */
  readonly deregistrationDelayMs: number | null;
  /** The hook's heartbeat timeout: Terminating:Wait ends with CONTINUE after it. */
  readonly heartbeatMs: number;
  /** The group's health check grace period, from `start`. */
  readonly healthCheckGraceMs: number;
  /** Launch template InstanceMetadataTags: `enabled` serves tags/instance/*. */
  readonly instanceMetadataTags: boolean;
  readonly roleName: string;
}

export type LifecycleState =
  'InService' | 'Terminating' | 'Terminating:Wait' | 'Terminating:Proceed' | 'Terminated';

export interface FakeEvent {
  readonly event: string;
  readonly atMs: number;
  readonly [key: string]: unknown;
}

const AS_NS = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';
const TOKEN_TTL_MAX_SEC = 21_600;

export class InstanceFake {
  state: LifecycleState = 'InService';
  health: 'Healthy' | 'Unhealthy' = 'Healthy';
  readonly events: FakeEvent[] = [];
  readonly credentials = {
    AccessKeyId: `ASIA${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`,
    SecretAccessKey: randomUUID(),
    Token: `fake-session-${randomUUID()}`,
  };
  private readonly opts: InstanceFakeOptions;
  private readonly emit: (e: FakeEvent) => void;
  private readonly tokens = new Map<string, number>();
  private readonly startedMs = Date.now();
  private timers: NodeJS.Timeout[] = [];

  constructor(opts: InstanceFakeOptions, emit: (e: FakeEvent) => void = () => undefined) {
    this.opts = opts;
    this.emit = emit;
  }

  private record(event: string, detail: Record<string, unknown> = {}): void {
    const e: FakeEvent = { event, atMs: Date.now(), ...detail };
    this.events.push(e);
    this.emit(e);
  }

  private enter(state: LifecycleState): void {
    this.state = state;
    this.record('state', { state });
  }

  /** Steady state the instance is heading for, as IMDS reports it. */
  get targetLifecycleState(): 'InService' | 'Terminated' {
    return this.state === 'InService' ? 'InService' : 'Terminated';
  }

  /** Auto Scaling decides to terminate (scale-in, refresh, unhealthy): deregistration first, then the hook. */
  terminate(): void {
    if (this.state !== 'InService') return;
    this.enter('Terminating');
    const delay = this.opts.deregistrationDelayMs;
    if (delay !== null) this.timers.push(setTimeout(() => this.deregistrationComplete(), delay));
  }

  /** The deregistration delay is over: the termination hook becomes active (its heartbeat starts). */
  deregistrationComplete(): void {
    if (this.state !== 'Terminating') return;
    this.enter('Terminating:Wait');
    this.timers.push(setTimeout(() => this.proceed('heartbeat_timeout'), this.opts.heartbeatMs));
  }

  private proceed(why: string): void {
    if (this.state !== 'Terminating:Wait') return;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.record('hook_ended', { why });
    this.enter('Terminating:Proceed');
    this.enter('Terminated');
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
  }

  // --- IMDSv2 ---------------------------------------------------------------------------

  handleImds(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://169.254.169.254');
    const text = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(body);
    };
    if (req.method === 'PUT' && url.pathname === '/latest/api/token') {
      if (req.headers['x-forwarded-for'] !== undefined) return text(403, 'Forbidden');
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > TOKEN_TTL_MAX_SEC) return text(400, 'Bad Request');
      const token = randomUUID();
      this.tokens.set(token, Date.now() + ttl * 1000);
      return text(200, token);
    }
    if (req.method !== 'GET') return text(405, 'Method Not Allowed');
    // HttpTokens required: no token (IMDSv1) or an expired one is 401.
    const token = req.headers['x-aws-ec2-metadata-token'];
    const expires = typeof token === 'string' ? this.tokens.get(token) : undefined;
    if (expires === undefined || expires < Date.now()) return text(401, 'Unauthorized');
    const path = url.pathname.replace(/^\/latest\/meta-data\//, '');
    const body = this.metadata(path);
    this.record('imds', { path, status: body === undefined ? 404 : 200 });
    if (body === undefined) return text(404, 'Not Found');
    return text(200, body);
  }

  private metadata(path: string): string | undefined {
    const o = this.opts;
    switch (path) {
      case 'instance-id':
        return o.instanceId;
      case 'placement/region':
        return o.region;
      case 'autoscaling/target-lifecycle-state':
        return this.targetLifecycleState;
      case 'iam/security-credentials/':
        return o.roleName;
      case `iam/security-credentials/${o.roleName}`:
        return JSON.stringify({
          Code: 'Success',
          LastUpdated: new Date().toISOString(),
          Type: 'AWS-HMAC',
          ...this.credentials,
          Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
        });
    }
    if (path.startsWith('tags/instance/') && o.instanceMetadataTags) {
      const key = decodeURIComponent(path.slice('tags/instance/'.length));
      if (key === '') return 'aws:autoscaling:groupName';
      if (key === 'aws:autoscaling:groupName') return o.groupName;
    }
    return undefined;
  }

  // --- Auto Scaling Query API ------------------------------------------------------------

  async handleAutoScaling(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const action = params.get('Action') ?? '';
    const requestId = randomUUID();
    const reply = (status: number, xml: string) => {
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(xml);
    };
    const fail = (status: number, code: string, message: string) => {
      this.record('api', { action, status, code, message });
      reply(
        status,
        `<ErrorResponse xmlns="${AS_NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
    };
    const ok = (detail: Record<string, unknown> = {}) => {
      this.record('api', { action, status: 200, ...detail });
      reply(
        200,
        `<${action}Response xmlns="${AS_NS}"><${action}Result/><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
      );
    };
    // Only the instance role's credentials (from this IMDS) sign requests.
    const auth = req.headers.authorization ?? '';
    if (
      !auth.includes(`Credential=${this.credentials.AccessKeyId}/`) ||
      req.headers['x-amz-security-token'] !== this.credentials.Token
    ) {
      return fail(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    }
    const o = this.opts;
    const instanceId = params.get('InstanceId') ?? '';
    if (action === 'CompleteLifecycleAction') {
      const group = params.get('AutoScalingGroupName');
      const hook = params.get('LifecycleHookName');
      const result = params.get('LifecycleActionResult');
      if (result !== 'CONTINUE' && result !== 'ABANDON')
        return fail(
          400,
          'ValidationError',
          'Valid values for LifecycleActionResult are CONTINUE and ABANDON',
        );
      if (group !== o.groupName || hook !== o.hookName)
        return fail(400, 'ValidationError', `No Lifecycle Hook found with name ${hook} for group ${group}`);
      if (instanceId !== o.instanceId || this.state !== 'Terminating:Wait')
        return fail(
          400,
          'ValidationError',
          `No active Lifecycle Action found with instance ID ${instanceId}`,
        );
      ok({ result });
      this.proceed(`completed_${result}`);
      return;
    }
    if (action === 'SetInstanceHealth') {
      const status = params.get('HealthStatus');
      if (status !== 'Healthy' && status !== 'Unhealthy')
        return fail(400, 'ValidationError', 'Valid values for HealthStatus are Healthy and Unhealthy');
      if (instanceId !== o.instanceId)
        return fail(
          400,
          'ValidationError',
          `Instance Id not found - No managed instance found for instance ID ${instanceId}`,
        );
      const respectGrace = params.get('ShouldRespectGracePeriod') !== 'false';
      const inGrace = Date.now() - this.startedMs < o.healthCheckGraceMs;
      if (respectGrace && inGrace) return ok({ healthStatus: status, ignored: 'grace_period' });
      this.health = status;
      ok({ healthStatus: status });
      return;
    }
    fail(400, 'InvalidAction', `Could not find operation ${action} for version 2011-01-01`);
  }
}

/** Listen for IMDS and the Auto Scaling API; resolves with their ports. */
export async function listenInstanceFake(
  fake: InstanceFake,
  imds: { host: string; port: number },
  api: { host: string; port: number },
): Promise<{ imdsPort: number; apiPort: number; close: () => Promise<void> }> {
  const imdsServer = createServer((req, res) => fake.handleImds(req, res));
  const apiServer = createServer((req, res) => void fake.handleAutoScaling(req, res));
  const listen = (s: Server, at: { host: string; port: number }) =>
    new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(at.port, at.host, () => resolve((s.address() as AddressInfo).port));
    });
  const imdsPort = await listen(imdsServer, imds);
  const apiPort = await listen(apiServer, api);
  const close = async () => {
    fake.close();
    await Promise.all(
      [imdsServer, apiServer].map(
        (s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r()))),
      ),
    );
  };
  return { imdsPort, apiPort, close };
}

// As a process: argv[2] is { options, imds: {host, port}, api: {host, port} }.
if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = JSON.parse(process.argv[2] ?? '{}') as {
    options: InstanceFakeOptions;
    imds: { host: string; port: number };
    api: { host: string; port: number };
  };
  const print = (e: object) => process.stdout.write(`${JSON.stringify(e)}\n`);
  const fake = new InstanceFake(arg.options, print);
  const { imdsPort, apiPort } = await listenInstanceFake(fake, arg.imds, arg.api);
  print({ event: 'listening', atMs: Date.now(), imdsPort, apiPort, credentials: fake.credentials });
  createInterface({ input: process.stdin }).on('line', (line) => {
    const cmd = JSON.parse(line) as { cmd: string };
    if (cmd.cmd === 'terminate') fake.terminate();
    if (cmd.cmd === 'deregistered') fake.deregistrationComplete();
  });
  process.stdin.on('end', () => process.exit(0));
}
