import { describe, expect, it } from 'vitest';
import { connectionWarnings } from './connection-warnings';

describe('connection warnings: defaults that would fail every session, said with the fix', () => {
  it('an SSH target with no pinned host key and no trust on first use', () => {
    const [warning] = connectionWarnings('box', 'ssh', { host: '10.0.0.9', port: 22, username: 'ops' });
    expect(warning).toContain('box: no host key is pinned and trust on first use is off');
    expect(warning).toContain('tollgate admin connections edit box --host-key SHA256:');
    expect(connectionWarnings('box', 'ssh', { host: 'h', username: 'u', trustOnFirstUse: true })).toEqual([]);
    expect(
      connectionWarnings('box', 'ssh', {
        host: 'h',
        username: 'u',
        hostKeyFingerprint: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU',
      }),
    ).toEqual([]);
  });

  it('a database on this machine verified as verify-full', () => {
    expect(connectionWarnings('pg', 'postgres', { host: '127.0.0.1' })[0]).toContain('--tls disable');
    expect(connectionWarnings('pg', 'postgres', { host: '127.0.0.1', tls: { mode: 'disable' } })).toEqual([]);
    expect(connectionWarnings('pg', 'postgres', { host: 'db.internal' })).toEqual([]);
  });
});
