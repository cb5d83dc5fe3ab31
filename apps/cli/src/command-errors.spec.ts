import { status as GrpcStatus } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { describeError } from './command-errors';
import { OpenStreamError } from './connect/read-open-result';

describe('describeError: one line, and what to do when the token was refused', () => {
  const saved = process.env.TOLLGATE_TOKEN;
  afterEach(() => {
    if (saved === undefined) delete process.env.TOLLGATE_TOKEN;
    else process.env.TOLLGATE_TOKEN = saved;
  });

  it('a gRPC refusal of the token says to log in again, or to replace TOLLGATE_TOKEN', () => {
    const refused = new OpenStreamError('invalid token: the token has expired', GrpcStatus.UNAUTHENTICATED);
    delete process.env.TOLLGATE_TOKEN;
    expect(describeError(refused)).toBe(
      'invalid token: the token has expired (log in again: `tollgate login`)',
    );
    process.env.TOLLGATE_TOKEN = 'stale';
    expect(describeError(refused)).toContain('(the token in TOLLGATE_TOKEN was refused');
  });

  it('other refusals are said as they are', () => {
    expect(describeError(new OpenStreamError('no gateway', GrpcStatus.UNAVAILABLE))).toBe('no gateway');
    expect(describeError(new Error('x'))).toBe('x');
  });
});
