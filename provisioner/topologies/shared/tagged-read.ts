/** The read every step makes first: its resources of one kind, found by this deployment's tags. */
import type { Filter } from '@aws-sdk/client-ec2';
import type { AccountConnection } from '../../aws/account.js';
import { deploymentFilters, isDeploymentResource } from '../../aws/tags.js';
import { collectPages } from './pages.js';

/** One EC2 Describe* list call, filtered by the deployment's tags. */
export interface TaggedList<T, O> {
  /** The API action, as recorded and retried: `DescribeVpcEndpoints`. */
  readonly operation: string;
  /** What is listed, for errors: `VPC endpoints`. */
  readonly what: string;
  /** What the call names, when it differs from `what`. */
  readonly callWhat?: string;
  /** Filters beside the tags (the VPC: tags alone are not an identity). */
  readonly filters?: readonly Filter[];
  readonly maxPages?: number;
  readonly send: (filters: Filter[], token: string | undefined) => Promise<O>;
  readonly page: (out: O) => { readonly items: readonly T[] | undefined; readonly next: string | undefined };
  /**
   * The item's tags, to filter again on this side: a filter the API ignores must never make
   * a step adopt someone else's resource. Left out where the API's tag filter is all there is.
   */
  readonly tags?: (t: T) => Parameters<typeof isDeploymentResource>[0];
}

/** Every item the tag-filtered list returns, all pages, checked again against the tags. */
export async function listTagged<T, O>(
  conn: AccountConnection,
  deployment: string,
  q: TaggedList<T, O>,
): Promise<T[]> {
  const filters = [...deploymentFilters(deployment), ...(q.filters ?? [])];
  const all = await collectPages(
    q.what,
    async (token) => {
      const { items, next } = q.page(
        await conn.call(q.operation, q.callWhat ?? q.what, () => q.send(filters, token)),
      );
      return { items: items ?? [], next };
    },
    q.maxPages,
  );
  const tags = q.tags;
  return tags === undefined ? all : all.filter((t) => isDeploymentResource(tags(t), deployment));
}
