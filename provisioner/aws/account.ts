import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromIni, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { AwsCallError, ProvisionError, awsErrorCode } from '../errors.js';
import type { Clock } from '../engine/clock.js';
import { MSG } from '../engine/messages.js';
import { emit, type OutputSink } from '../engine/output.js';
import { RetryStopped, isAmbiguousFailure, withRetry, type RetryPolicy } from '../engine/retry.js';
import type { AccountConfig } from './account-config.js';
import { partitionOfArn, partitionOfRegion, type Partition } from './partition.js';

/** One AWS call as the observer sees it, before it is sent. */
export interface ObservedCall {
  /** Account key in the topology: `provider`. */
  readonly account: string;
  /** IAM service prefix: `ec2`, `elasticloadbalancing`, `sts`, `route53`. */
  readonly service: string;
  /** API operation: `CreateVpcEndpoint`. */
  readonly operation: string;
}

/**
 * Sees every API call before it is sent (SDK middleware). Used to record calls (the IAM
 * coverage test, debugging) and, in tests, to inject faults by throwing.
 */
export type CallObserver = (call: ObservedCall) => void;

export interface AccountConnectionOptions {
  readonly clock: Clock;
  readonly sink: OutputSink;
  readonly retryPolicy?: RetryPolicy;
  readonly random?: () => number;
  readonly observer?: CallObserver;
  /** Used in the AssumeRole session name. */
  readonly deployment: string;
}

export interface CallOptions<T = unknown> {
  /** Extra AWS codes retried for this call (eventual consistency). */
  readonly alsoRetry?: readonly string[];
  /**
   * For a create without an idempotency token: after a failure that may have been carried
   * out anyway (no answer, a server error), look for the resource before sending the create
   * again; what it finds is the call's result. Without it a retry could make a second one.
   */
  readonly recheck?: () => Promise<T | undefined>;
}

interface MiddlewareStackLike {
  add(
    mw: (
      next: (args: unknown) => Promise<unknown>,
      context: { commandName?: string },
    ) => (args: unknown) => Promise<unknown>,
    options: { step: 'initialize'; name: string },
  ): void;
}

type CredentialProvider = ReturnType<typeof fromIni>;

function credentialProvider(config: AccountConfig, deployment: string): CredentialProvider | undefined {
  const creds = config.credentials;
  if (creds === undefined) return undefined;
  const source = creds.profile !== undefined ? fromIni({ profile: creds.profile }) : undefined;
  if (creds.roleArn === undefined) return source;
  return fromTemporaryCredentials({
    params: {
      RoleArn: creds.roleArn,
      RoleSessionName: creds.sessionName ?? `ekslink-${deployment}`.slice(0, 64),
      ...(creds.externalId !== undefined ? { ExternalId: creds.externalId } : {}),
    },
    ...(source !== undefined ? { masterCredentials: source } : {}),
    clientConfig: {
      region: config.region,
      ...(config.endpoints?.sts ? { endpoint: config.endpoints.sts } : {}),
    },
  });
}

/**
 * The clients for one account, built from its config (credentials, region, endpoint
 * overrides), and `call`, through which every step's AWS request goes.
 */
export class AccountConnection {
  readonly ec2: EC2Client;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly sts: STSClient;
  readonly route53: Route53Client;

  constructor(
    /** Account key in the topology: `provider` or `consumer`. */
    readonly key: string,
    readonly config: AccountConfig,
    private readonly options: AccountConnectionOptions,
  ) {
    const credentials = credentialProvider(config, options.deployment);
    // The engine owns retries (bounded, observable, on the injected clock): the SDK makes one attempt.
    const base = { region: config.region, maxAttempts: 1, ...(credentials ? { credentials } : {}) };
    const endpoints = config.endpoints ?? {};
    this.ec2 = new EC2Client({ ...base, ...(endpoints.ec2 ? { endpoint: endpoints.ec2 } : {}) });
    this.elbv2 = new ElasticLoadBalancingV2Client({
      ...base,
      ...(endpoints.elbv2 ? { endpoint: endpoints.elbv2 } : {}),
    });
    this.sts = new STSClient({ ...base, ...(endpoints.sts ? { endpoint: endpoints.sts } : {}) });
    this.route53 = new Route53Client({
      ...base,
      ...(endpoints.route53 ? { endpoint: endpoints.route53 } : {}),
    });
    this.observe(this.ec2, 'ec2');
    this.observe(this.elbv2, 'elasticloadbalancing');
    this.observe(this.sts, 'sts');
    this.observe(this.route53, 'route53');
  }

  get accountId(): string {
    return this.config.accountId;
  }

  get region(): string {
    return this.config.region;
  }

  /**
   * The account's partition: from the caller identity ARN once `verifyIdentity` has run
   * (`arn:aws-cn:sts::...`), else from the region prefix.
   */
  get partition(): Partition {
    return this.identityPartition ?? partitionOfRegion(this.config.region);
  }

  private identityPartition: Partition | undefined;

  private observe(client: { middlewareStack: unknown }, service: string): void {
    const observer = this.options.observer;
    if (observer === undefined) return;
    (client.middlewareStack as MiddlewareStackLike).add(
      (next, context) => async (args) => {
        observer({
          account: this.key,
          service,
          operation: (context.commandName ?? 'Unknown').replace(/Command$/, ''),
        });
        return next(args);
      },
      { step: 'initialize', name: 'ekslinkCallObserver' },
    );
  }

  /**
   * Make one AWS call with retries for throttling and eventual consistency. Failures become
   * AwsCallError naming the operation and the resource, keeping the AWS error code.
   */
  async call<T>(
    operation: string,
    resource: string,
    fn: () => Promise<T>,
    options: CallOptions<T> = {},
  ): Promise<T> {
    let maybeDone = false;
    const attempt = async (): Promise<T> => {
      if (maybeDone && options.recheck) {
        const found = await options.recheck();
        if (found !== undefined) return found;
      }
      try {
        return await fn();
      } catch (err) {
        maybeDone = isAmbiguousFailure(err);
        throw err;
      }
    };
    try {
      return await withRetry(attempt, {
        clock: this.options.clock,
        ...(this.options.retryPolicy ? { policy: this.options.retryPolicy } : {}),
        ...(this.options.random ? { random: this.options.random } : {}),
        ...(options.alsoRetry ? { alsoRetry: options.alsoRetry } : {}),
        onRetry: (info) =>
          emit(
            this.options.sink,
            MSG.RETRY,
            this.options.clock.now(),
            `${operation} on ${resource}: ${info.code}, retry ${info.attempt} in ${info.delayMs}ms`,
            {
              account: this.key,
              data: { operation, resource, awsCode: info.code, attempt: info.attempt, delayMs: info.delayMs },
            },
          ),
      });
    } catch (err) {
      if (!(err instanceof RetryStopped)) throw err;
      if (err.lastError instanceof ProvisionError) throw err.lastError;
      const code = err.exhausted ? 'EKL_PROVISION_RETRIES_EXHAUSTED' : 'EKL_PROVISION_AWS_CALL_FAILED';
      throw new AwsCallError(code, operation, resource, err.lastError, err.attempts);
    }
  }

  /** Check the credentials reach the configured account; fails early with a precise message. */
  async verifyIdentity(): Promise<void> {
    let actual: string | undefined;
    try {
      const out = await this.call('GetCallerIdentity', `${this.key} credentials`, () =>
        this.sts.send(new GetCallerIdentityCommand({})),
      );
      actual = out.Account;
      this.identityPartition = partitionOfArn(out.Arn);
    } catch (err) {
      if (err instanceof AwsCallError && err.awsCode !== undefined) throw err;
      const cause = err instanceof AwsCallError ? err.cause : err;
      const how = this.config.credentials?.roleArn
        ? `assume role ${this.config.credentials.roleArn}`
        : this.config.credentials?.profile
          ? `load profile "${this.config.credentials.profile}"`
          : 'load credentials from the default chain';
      throw new ProvisionError(
        'EKL_PROVISION_CREDENTIALS',
        `${this.key} account ${this.accountId}: could not ${how}: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause, awsCode: awsErrorCode(cause), source: 'config' },
      );
    }
    if (actual !== this.accountId) {
      throw new ProvisionError(
        'EKL_PROVISION_ACCOUNT_MISMATCH',
        `${this.key}.accountId is ${this.accountId} but its credentials belong to account ${actual ?? '(unknown)'}; fix ${this.key}.credentials or ${this.key}.accountId`,
        { source: 'config' },
      );
    }
    emit(
      this.options.sink,
      MSG.ACCOUNT_VERIFIED,
      this.options.clock.now(),
      `${this.key}: account ${actual} (partition ${this.partition})`,
      {
        account: this.key,
        data: { accountId: actual, partition: this.partition },
      },
    );
  }

  destroy(): void {
    this.ec2.destroy();
    this.elbv2.destroy();
    this.sts.destroy();
    this.route53.destroy();
  }
}
