import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  makeTempDir,
  spawnCli,
  startTunnelGateway,
  TEST_BOOTSTRAP_ADMIN_SECRET,
  type CliProcess,
  type TunnelGateway,
} from '@tollgate/testing';

interface AuditItem {
  seq: string;
  subject: string;
  actorChain: { subject: string }[];
  action: string;
  target: string | null;
  decision: string;
  reason: string | null;
}

/**
 * The client fails closed and the audit is complete: the real CLI against a real gateway (one
 * stack for the file).
 */
describe('client fail-closed and a complete audit trail, end to end', () => {
  let gateway: TunnelGateway;
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  let home: string;

  /** Runs `tollgate ARGS` against the gateway with a credentials file of its own and `env`. */
  const cli = async (args: string[], env: Record<string, string | undefined> = {}) => {
    const run = spawnCli(args, {
      TOLLGATE_URL: gateway.httpUrl,
      TOLLGATE_CREDENTIALS_FILE: join(home, 'credentials.json'),
      TOLLGATE_TOKEN: undefined,
      ...env,
    });
    processes.push(run);
    return { code: await run.exited(), output: run.output() };
  };

  const auditAfter = async (seq: bigint, action?: string) =>
    (
      await gateway.api<{ items: AuditItem[] }>(
        'GET',
        `/api/v1/audit?limit=1000${action ? `&action=${encodeURIComponent(action)}` : ''}`,
      )
    ).body.items.filter((r) => BigInt(r.seq) > seq);

  const lastSeq = async () =>
    BigInt(
      (await gateway.api<{ items: AuditItem[] }>('GET', '/api/v1/audit?limit=1&order=desc')).body.items[0]
        ?.seq ?? 0,
    );

  beforeAll(async () => {
    const store = await createTestDatabase();
    cleanups.push(store.drop);
    const dir = makeTempDir();
    cleanups.push(dir.remove);
    home = dir.path;
    gateway = await startTunnelGateway([], { DATABASE_URL: store.url });
    processes.push(gateway.cli);
    // A saved login: the identity an empty TOLLGATE_TOKEN used to fall back to.
    const login = await cli(['login', '--client-id', 'bootstrap-admin'], {
      TOLLGATE_CLIENT_SECRET: TEST_BOOTSTRAP_ADMIN_SECRET,
    });
    expect(login.code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  describe('the client fails closed', () => {
    it('refuses an empty TOLLGATE_TOKEN instead of using the saved login, so it cannot revoke it', async () => {
      const before = await lastSeq();
      const revoke = await cli(['token', 'revoke'], { TOLLGATE_TOKEN: '' });
      expect(revoke.code).toBe(1);
      expect(revoke.output).toMatch(
        /^tollgate token revoke: invalid configuration:\n {2}- TOLLGATE_TOKEN is set but empty: /,
      );
      expect(revoke.output).toContain('unset TOLLGATE_TOKEN');
      const blank = await cli(['whoami'], { TOLLGATE_TOKEN: '  ' });
      expect(blank.code).toBe(1);
      expect(blank.output).toContain('TOLLGATE_TOKEN is set but empty');
      expect(await auditAfter(before, 'token:revoke')).toEqual([]);
      // The saved login still works: nothing was revoked.
      const whoami = await cli(['whoami']);
      expect(whoami.code).toBe(0);
      expect(whoami.output).toContain('subject  sa:bootstrap-admin');
    });

    it('refuses token exchange --expires-in beyond the parent before sending anything', async () => {
      const before = await lastSeq();
      const tooLong = await cli(['token', 'exchange', '--scope', 'audit:read', '--expires-in', '86400']);
      expect(tooLong.code).toBe(1);
      expect(tooLong.output).toMatch(
        /^tollgate token exchange: --expires-in 86400 is beyond the current token's expiry \(\S+Z, \d+ s from now\): a child token never outlives its parent; ask for at most \d+ seconds\n$/,
      );
      const malformed = await cli(['token', 'exchange', '--expires-in', '10m']);
      expect(malformed.output).toBe(
        'tollgate token exchange: --expires-in must be a positive whole number of seconds, got "10m"\n',
      );
      expect(await auditAfter(before, 'token:exchange')).toEqual([]);

      const child = await cli(['token', 'exchange', '--scope', 'audit:read', '--expires-in', '60']);
      expect(child.code).toBe(0);
      const whoami = await cli(['whoami'], { TOLLGATE_TOKEN: child.output.trim() });
      expect(whoami.output).toContain('scope    audit:read');
    });

    it('records a malformed expires_in the gateway refuses, with the holder and chain', async () => {
      const parent = (await cli(['token', 'print'])).output.trim();
      const child = (
        await cli(['token', 'exchange', '--scope', 'audit:read'], { TOLLGATE_TOKEN: parent })
      ).output.trim();
      const before = await lastSeq();
      const response = await fetch(`${gateway.httpUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: child,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          expires_in: '1e3',
        }).toString(),
      });
      expect(response.status).toBe(400);
      expect(await auditAfter(before, 'token:exchange')).toEqual([
        expect.objectContaining({
          subject: 'sa:bootstrap-admin',
          actorChain: [{ subject: 'sa:bootstrap-admin' }],
          decision: 'deny',
          reason: 'expires_in must be a positive number of seconds',
        }),
      ]);
    });
  });
});
