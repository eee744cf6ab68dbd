/**
 * One part's family of errors: its catalog (code -> meaning and fix, rendered into
 * docs/errors.md), and an error class on `EkslinkError` whose `code` can only be one of the
 * catalog's codes and whose `source` defaults to the part's usual one.
 */
import { EkslinkError, type EkslinkErrorOptions, type ErrorSource } from './errors.js';

/** Stable codes of one part: code -> one line of meaning and fix. */
export type ErrorCatalog = Readonly<Record<`EKL_${string}`, string>>;

export interface ErrorFamily<Catalog extends ErrorCatalog> {
  /** The class name errors of the family carry (`ProvisionError`). */
  readonly name: string;
  readonly catalog: Catalog;
  /** Where the family's failures come from unless a throw site says otherwise. */
  readonly source: ErrorSource;
}

/**
 * The base class of a family: `class ProvisionError extends defineErrorFamily({ name:
 * 'ProvisionError', catalog: ERROR_CATALOG, source: 'aws' }) {}`. Subclasses add fields
 * (`awsCode`) and message shapes; the code, the default source and `cause` are handled here.
 */
export function defineErrorFamily<const Catalog extends ErrorCatalog>(family: ErrorFamily<Catalog>) {
  return class FamilyError extends EkslinkError {
    /** The family's catalog, for docs and tests. */
    static readonly catalog: Catalog = family.catalog;
    declare readonly code: keyof Catalog & string;

    constructor(code: keyof Catalog & string, message: string, options: EkslinkErrorOptions = {}) {
      super(code, message, { source: family.source, ...options });
      this.name = family.name;
    }
  };
}
