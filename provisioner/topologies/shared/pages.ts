import { ProvisionError } from '../../errors.js';

/** One page of a list call: its items and the token for the next page, if any. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next: string | undefined;
}

/**
 * Every item of a paginated AWS list call. Bounded by `maxPages` so a service that keeps
 * handing out tokens cannot keep a run going forever; reaching the bound with a token still
 * outstanding is an error, never a silently short list (a read that misses its resource
 * would plan a duplicate, a destroy would leave it behind).
 */
export async function collectPages<T>(
  what: string,
  fetch: (token: string | undefined) => Promise<Page<T>>,
  maxPages = 100,
): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const { items, next } = await fetch(token);
    all.push(...items);
    if (!next) return all;
    token = next;
  }
  throw new ProvisionError(
    'EKL_PROVISION_PARTIAL_LIST',
    `listing ${what} stopped at ${maxPages} pages (${all.length} items) with more to come; ` +
      'a partial list could hide a resource of this deployment, so nothing was changed: ' +
      'delete unused resources of this kind in the account, or run again if AWS kept handing out tokens',
    { retryable: true },
  );
}
