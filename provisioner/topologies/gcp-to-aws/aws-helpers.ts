import { AwsCallError } from '../../errors.js';

/**
 * An error shaped like an SDK service exception, for failures AWS reports inside a 200
 * response (the `Unsuccessful` lists of EC2 batch calls): retry logic and error reporting
 * then see the real AWS code.
 */
export function awsFailure(code: string | undefined, message: string | undefined): Error {
  const err = new Error(message ?? code ?? 'unsuccessful') as Error & { $metadata: object; Code?: string };
  err.name = code ?? 'Unknown';
  err.$metadata = {};
  return err;
}

/** Run a delete; a resource that is already gone counts as deleted. */
export async function ignoreGone(goneCodes: readonly string[], fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof AwsCallError && err.awsCode !== undefined && goneCodes.includes(err.awsCode)) return;
    throw err;
  }
}
