import type { ConnectionError } from '../errors.js';

/**
 * What an incremental wire parser returns: a value and how many bytes it used, a request
 * for more bytes, or an error. Parsers are pure: Buffer in, one of these out.
 */
export type ParseResult<T> =
  | { readonly kind: 'done'; readonly value: T; readonly consumed: number }
  | { readonly kind: 'needMore' }
  | { readonly kind: 'error'; readonly error: ConnectionError };
