import { AccountConnection, type AccountConnectionOptions } from '../../aws/account.js';
import type { AccountConfig } from '../../aws/account-config.js';
import type { DeploymentDeps } from '../topology.js';

/**
 * One AccountConnection per account key, all sharing the deployment's injected world
 * (clock, sink, observer, retry policy), so every topology builds its clients the same way.
 */
export function connectAccounts<K extends string>(
  deployment: string,
  deps: DeploymentDeps,
  accounts: Readonly<Record<K, AccountConfig>>,
): Record<K, AccountConnection> {
  const options: AccountConnectionOptions = {
    clock: deps.clock,
    sink: deps.sink,
    deployment,
    ...(deps.observer ? { observer: deps.observer } : {}),
    ...(deps.retryPolicy ? { retryPolicy: deps.retryPolicy } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  };
  const out = {} as Record<K, AccountConnection>;
  for (const key of Object.keys(accounts) as K[])
    out[key] = new AccountConnection(key, accounts[key], options);
  return out;
}

/** `accountId` for StepContext: account key -> the configured 12-digit ID. */
export function accountIdLookup(
  accounts: Readonly<Record<string, { readonly accountId: string }>>,
): (account: string) => string | undefined {
  return (account) => (Object.hasOwn(accounts, account) ? accounts[account]!.accountId : undefined);
}
