import { status as GrpcStatus } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { unusedPort } from '@tollgate/testing';
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

  it('a gateway that cannot be reached is named, with why and what to do', async () => {
    const port = await unusedPort();
    const refused = await fetch(`http://127.0.0.1:${port}/api/v1/me`).catch((error: unknown) => error);
    expect(describeError(refused)).toBe(
      `cannot reach the gateway at 127.0.0.1:${port} (nothing listens there, ECONNREFUSED): is it running? ` +
        'Start one with `tollgate start`, or name yours with --gateway or TOLLGATE_URL',
    );
    const unknownHost = await fetch('http://tollgate.invalid/api/v1/me').catch((error: unknown) => error);
    expect(describeError(unknownHost)).toMatch(/^cannot reach the gateway at tollgate\.invalid \(/);
  });
});
