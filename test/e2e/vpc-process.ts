/**
 * The test's handle on fixtures/vpc.ts running inside the VPC namespace: send a command,
 * await its reply; keep every event line (NLB connections) for assertions.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TestPki } from '../../standins/pki.js';

export interface VpcFixtureConfig {
  eksHostname: string;
  /** EKS API stand-in addresses at start; DNS answers these too. */
  enis: string[];
  /** VPC endpoint addresses: the NLB stand-in listens on :443 of each. */
  endpoints: string[];
  vpcEndpointId: string;
  /** Carried by the NLB stand-in's second listener, which the proxy must refuse. */
  otherVpcEndpointId: string;
  /** The resolver address and port the proxy config names (the VPC's base + 2, port 53). */
  dns: { host: string; port: number };
  /** The EKS API port on every ENI (the proxy's route has the default upstream port, 443). */
  eksPort: number;
  /** The NLB node's own address: its connections to the targets come from here. */
  nlbNodeAddress: string;
  pki: TestPki;
  gitVersion: string;
  token: string;
}

export type VpcCommand =
  | { cmd: 'nlb'; target: { host: string; port: number }; proxyProtocolV2: boolean }
  | { cmd: 'healthCheck'; target: { host: string; port: number }; path: string }
  | { cmd: 'addEni'; address: string }
  | { cmd: 'removeEni'; address: string }
  | { cmd: 'dns'; a: string[] }
  | { cmd: 'served'; addresses: string[] };

type Line = Record<string, unknown> & { event?: string; id?: number };

export class VpcProcess {
  readonly events: Line[] = [];
  readonly stderr: string[] = [];
  readonly ready: Promise<{ dns: string; standinPort: number }>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(readonly child: ChildProcess) {
    child.stderr!.on('data', (c: Buffer) => this.stderr.push(c.toString('utf8')));
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => {
        const err = new Error(`VPC fixture exited (${code}): ${this.stderr.join('').slice(-2000)}`);
        for (const p of this.pending.values()) p.reject(err);
        reject(err);
      }),
    );
    exited.catch(() => undefined);
    let readyLine: (line: Line) => void = () => undefined;
    this.ready = Promise.race([
      new Promise<{ dns: string; standinPort: number }>((resolve) => {
        readyLine = (line) => resolve(line as unknown as { dns: string; standinPort: number });
      }),
      exited,
    ]);
    createInterface({ input: child.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as Line;
      if (line.event === 'ready') readyLine(line);
      else if (line.event === 'reply') this.settle(line);
      else this.events.push(line);
    });
  }

  /** Sends a command; resolves with its result, rejects with the fixture's error. */
  send<T>(command: VpcCommand, timeoutMs = 10_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`VPC fixture: no reply to ${command.cmd} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.stdin!.write(`${JSON.stringify({ ...command, id })}\n`);
    });
  }

  /** NLB connections seen so far (the PROXY header each one was given). */
  nlbConnections(): Line[] {
    return this.events.filter((e) => e.event === 'nlb');
  }

  private settle(line: Line): void {
    const p = this.pending.get(line.id!);
    if (!p) return;
    this.pending.delete(line.id!);
    if (line.ok === true) p.resolve(line.result);
    else p.reject(new Error(`VPC fixture: ${String(line.error)}`));
  }
}
