/** One page of a list call: its items and the token for the next page, if any. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly next: string | undefined;
}

/**
 * Every item of a paginated AWS list call. Bounded by `maxPages` so a service that keeps
 * handing out tokens cannot keep a run going forever.
 */
export async function collectPages<T>(
  fetch: (token: string | undefined) => Promise<Page<T>>,
  maxPages = 100,
): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const { items, next } = await fetch(token);
    all.push(...items);
    if (!next) break;
    token = next;
  }
  return all;
}
