import { createHash } from 'node:crypto';

/**
 * An idempotency token (EC2 `ClientToken`, at most 64 ASCII characters) derived from the
 * deployment, the step and the request itself, never random: a rerun of a create that AWS
 * already carried out (the answer was lost, or the run was cut off before the resource
 * showed up by tag) sends the same token and gets the same resource back instead of a
 * second one. The request's own parameters are part of it, so a create after a destroy
 * (new dependencies, new IDs) or a replacement (`replacing` names the resource it replaces)
 * gets a new token rather than the answer for a resource that no longer exists.
 */
export function clientToken(deployment: string, step: string, request: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([deployment, step, canonical(request)]))
    .digest('hex');
}

/** JSON with object keys sorted, so the same request always hashes the same. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}
