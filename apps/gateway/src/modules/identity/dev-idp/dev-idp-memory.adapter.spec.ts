import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { devIdpMemoryAdapter } from './dev-idp-memory.adapter';

describe('the dev IdP memory adapter (oidc-provider storage)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-12-04T12:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('keeps each model apart and finds sessions by uid and device codes by user code', async () => {
    const adapter = devIdpMemoryAdapter();
    const sessions = adapter('Session');
    const codes = adapter('DeviceCode');
    await sessions.upsert('s1', { uid: 'u1', accountId: 'admin' }, 60);
    await codes.upsert('s1', { userCode: 'ABCD-EFGH', grantId: 'g1' }, 60);

    expect(await sessions.find('s1')).toEqual({ uid: 'u1', accountId: 'admin' });
    expect(await sessions.findByUid('u1')).toEqual({ uid: 'u1', accountId: 'admin' });
    expect(await codes.findByUid('u1')).toBeUndefined();
    expect(await codes.findByUserCode('ABCD-EFGH')).toEqual({ userCode: 'ABCD-EFGH', grantId: 'g1' });
    await sessions.destroy('s1');
    expect(await sessions.find('s1')).toBeUndefined();
    expect(await codes.find('s1')).toBeDefined();
  });

  it('forgets an entry once its lifetime has passed, and keeps one without a lifetime', async () => {
    const tokens = devIdpMemoryAdapter()('AccessToken');
    await tokens.upsert('short', { grantId: 'g1' }, 30);
    await tokens.upsert('forever', { grantId: 'g2' });
    vi.advanceTimersByTime(29_000);
    expect(await tokens.find('short')).toBeDefined();
    vi.advanceTimersByTime(1_000);
    expect(await tokens.find('short')).toBeUndefined();
    expect(await tokens.find('forever')).toBeDefined();
  });

  it('marks a code consumed (epoch seconds) and revokes every model entry of a grant', async () => {
    const adapter = devIdpMemoryAdapter();
    const authCodes = adapter('AuthorizationCode');
    const refresh = adapter('RefreshToken');
    await authCodes.upsert('c1', { grantId: 'g1' }, 60);
    await refresh.upsert('r1', { grantId: 'g1' }, 600);
    await refresh.upsert('r2', { grantId: 'g2' }, 600);

    await authCodes.consume('c1');
    expect(await authCodes.find('c1')).toEqual({
      grantId: 'g1',
      consumed: Date.parse('2026-12-04T12:00:00Z') / 1000,
    });

    await refresh.revokeByGrantId('g1');
    expect(await authCodes.find('c1')).toBeUndefined();
    expect(await refresh.find('r1')).toBeUndefined();
    expect(await refresh.find('r2')).toBeDefined();
  });
});
