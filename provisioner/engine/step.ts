/**
 * The step contract. A topology is an ordered list of steps over one context object.
 *
 * Each step owns a few AWS resources in ONE account and exports four functions:
 *
 * - `read(ctx)`: find the current state of its resources BY TAGS (`ekslink:deployment=<name>`
 *   and `chalk.ai/managed-by=chalk`, see provisioner/aws/tags.ts), never from a local state
 *   file. Read-only. It may publish facts for later steps on `ctx` (e.g. the NLB ARN it
 *   found), because `plan` runs read for every step without applying anything.
 * - `plan(ctx, current)`: pure. Compare `current` with the config and return one Change per
 *   resource: `create`, `update`, `replace` or `delete` with a reason a person can act on, or `none`
 *   ("exists, matches config"). When a dependency from an earlier step does not exist yet,
 *   plan `create` with a reason that says so. An empty list means "nothing to manage".
 * - `apply(ctx, current, changes)`: make the planned changes, then publish the same facts
 *   `read` would have (so the next step sees what was just created). Must be safe to run
 *   after a partial earlier run: everything it creates is tagged in the create call itself,
 *   so a re-run finds it and does not duplicate it.
 * - `destroy(ctx, current)`: delete only what `read` found (so only this deployment's
 *   tagged resources) and return what it deleted. What is already gone is not an error.
 *
 * The runner (runner.ts) calls read -> plan -> apply for each step in order, and
 * read -> destroy in reverse order. It re-reads each step right before applying it, times
 * it, reports through the injected OutputSink with stable message codes, and wraps any
 * failure in a StepFailedError naming the step, the account and the resource.
 *
 * AWS calls go through `AccountConnection.call` (provisioner/aws/account.ts): retries with
 * backoff for throttling and eventual consistency, and errors that keep the AWS code.
 * Each step also declares the IAM permissions its calls need (`permissions`); the
 * `iam-policy` output is built from these declarations, and a test checks that every call
 * recorded during apply and destroy is covered by them.
 */
import type { IamPermission } from './permission.js';

/** `replace`: delete a resource that can never work again (e.g. state `failed`) and create a new one. */
export type ChangeAction = 'create' | 'update' | 'replace' | 'delete' | 'none';

/** One resource and what will happen (or happened) to it. */
export interface Change {
  readonly action: ChangeAction;
  /** Kind and name a person recognises: `target group ekl-acme`. */
  readonly resource: string;
  /** Why: what differs, or why nothing does. */
  readonly reason: string;
}

export interface Step<C, S = unknown> {
  /** Stable id, used in message data and errors: `nlb`. */
  readonly id: string;
  /** One line for people: `provider: internal NLB, target group, listener`. */
  readonly title: string;
  /** Which account's credentials the step uses: a key of the topology's accounts. */
  readonly account: string;
  /** IAM permissions the step's calls need; the iam-policy output is built from these. */
  readonly permissions: readonly IamPermission[];
  read(ctx: C): Promise<S>;
  plan(ctx: C, current: S): readonly Change[];
  apply(ctx: C, current: S, changes: readonly Change[]): Promise<void>;
  destroy(ctx: C, current: S): Promise<readonly Change[]>;
}

/** What the runner needs from a topology's context: account IDs for messages and errors. */
export interface StepContext {
  /** Account key (`provider`) -> 12-digit account ID, for messages and errors. */
  accountId(account: string): string | undefined;
}

export function isChange(change: Change): boolean {
  return change.action !== 'none';
}

export function change(action: ChangeAction, resource: string, reason: string): Change {
  return { action, resource, reason };
}
