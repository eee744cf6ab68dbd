import { describe, expect, it } from 'vitest';
import { defineErrorFamily } from '../../common/error-family.js';
import { EkslinkError } from '../../common/errors.js';

const CATALOG = {
  EKL_TEST_BROKEN: 'Something broke; fix it.',
  EKL_TEST_GONE: 'Something is gone; bring it back.',
} as const;

class TestError extends defineErrorFamily({ name: 'TestError', catalog: CATALOG, source: 'config' }) {}

class DetailedTestError extends TestError {
  override name = 'DetailedTestError';
  readonly detail: string;
  constructor(detail: string) {
    super('EKL_TEST_GONE', `gone: ${detail}`, { retryable: true });
    this.detail = detail;
  }
}

describe('defineErrorFamily', () => {
  it('makes an EkslinkError with the code, the name and the family default source', () => {
    const err = new TestError('EKL_TEST_BROKEN', 'it broke');
    expect(err).toBeInstanceOf(TestError);
    expect(err).toBeInstanceOf(EkslinkError);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: 'TestError', code: 'EKL_TEST_BROKEN', message: 'it broke' });
    expect(err.source).toBe('config');
    expect(err.retryable).toBe(false);
    expect(String(err)).toBe('TestError: it broke');
  });

  it('keeps the cause, and a throw site may name another source or make it retryable', () => {
    const cause = new Error('underneath');
    const err = new TestError('EKL_TEST_BROKEN', 'it broke', { cause, source: 'aws', retryable: true });
    expect(err.cause).toBe(cause);
    expect(err.source).toBe('aws');
    expect(err.retryable).toBe(true);
  });

  it('lets a subclass add fields and its own name', () => {
    const err = new DetailedTestError('the disk');
    expect(err).toBeInstanceOf(TestError);
    expect(err).toMatchObject({ name: 'DetailedTestError', code: 'EKL_TEST_GONE', detail: 'the disk' });
    expect(err.source).toBe('config');
    expect(err.retryable).toBe(true);
  });

  it('carries its catalog', () => {
    expect(TestError.catalog).toBe(CATALOG);
  });

  it('accepts only codes of its catalog (a type error otherwise)', () => {
    // @ts-expect-error EKL_OTHER is not in the family's catalog
    expect(new TestError('EKL_OTHER', 'x').code).toBe('EKL_OTHER');
  });
});
