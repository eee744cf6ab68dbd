import { describe, expect, it } from 'vitest';
import { EkslinkError } from '../../common/errors.js';
import { ProxyError } from '../../proxy/errors.js';
import { errorReply, replyError, type Reply } from '../../proxy/process/worker-ipc.js';

/** What cluster IPC does to a message: it sends JSON. */
const overIpc = (r: Reply): Reply => JSON.parse(JSON.stringify(r)) as Reply;

describe('worker IPC error replies', () => {
  it('keep code, source, retryable and the cause across the trip', () => {
    const cause = Object.assign(new Error('listen EADDRINUSE: address already in use 0.0.0.0:443'), {
      code: 'EADDRINUSE',
    });
    const thrown = new ProxyError('EKL_LISTEN_FAILED', 'cannot bind 0.0.0.0:443', {
      cause,
      source: 'internal',
      retryable: true,
    });
    const err = replyError(4242, overIpc(errorReply(7, thrown)));
    expect(err).toBeInstanceOf(EkslinkError);
    expect(err).toMatchObject({
      code: 'EKL_LISTEN_FAILED',
      message: 'worker 4242: cannot bind 0.0.0.0:443',
      source: 'internal',
      retryable: true,
    });
    expect(err.cause).toBeInstanceOf(Error);
    expect(err.cause).toMatchObject({ code: 'EADDRINUSE', message: cause.message });
  });

  it('keep a downstream source and a not-retryable error as they were', () => {
    const thrown = new ProxyError('EKL_SNI_NOT_ALLOWED', 'not allowed', { source: 'downstream' });
    const err = replyError(1, overIpc(errorReply(1, thrown)));
    expect(err).toMatchObject({ code: 'EKL_SNI_NOT_ALLOWED', source: 'downstream', retryable: false });
    expect(err.cause).toBeUndefined();
  });

  it('turn any other thrown value into a plain Error with its message (and cause)', () => {
    const err = replyError(
      3,
      overIpc(errorReply(2, new TypeError('bad', { cause: Object.assign(new Error('x'), { code: 'EX' }) }))),
    );
    expect(err).not.toBeInstanceOf(EkslinkError);
    expect(err.message).toBe('worker 3: bad');
    expect(err.cause).toMatchObject({ code: 'EX', message: 'x' });
    expect(replyError(3, overIpc(errorReply(2, 'a string'))).message).toBe('worker 3: a string');
  });
});
