import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createMachinePostgresConnection,
  createTestDatabase,
  makeTempDir,
  MACHINE_POSTGRES,
  spawnAgent,
  spawnCli,
  startTunnelGateway,
  TEST_BOOTSTRAP_ADMIN_SECRET,
  type CliProcess,
  type TunnelGateway,
} from '@tollgate/testing';

interface AuditItem {
  seq: string;
  at: string;
  subject: string;
  actorChain: { subject: string }[];
  action: string;
  target: string | null;
  decision: string;
  reason: string | null;
  payload: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

const POLICY = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
guardrails:
  - name: no-drop
    match: {connections: [pg-audit]}
    deny: {statements: [DROP]}
masking:
  - name: pii
    match: {connections: [pg-audit]}
    detectors: [email]
`;

/** A payload with its generated values (ids, sizes, times) replaced by their types. */
function typed(payload: Record<string, unknown> | undefined): Record<string, unknown> {
  const generated = new Set([
    'eventId',
    'sessionId',
    'sessionSeq',
    'sessionHash',
    'bytes',
    'durationMs',
    'journal',
  ]);
  return Object.fromEntries(
    Object.entries(payload ?? {}).map(([key, value]) => [key, generated.has(key) ? typeof value : value]),
  );
}

/**
 * The client fails closed and the audit is complete: the real CLI against a real gateway (one
 * stack for the file).
 */
describe('client fail-closed and a complete audit trail, end to end', { timeout: 300_000 }, () => {
  let gateway: TunnelGateway;
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  let home: string;
  let storeUrl: string;

  /** Runs `tollgate ARGS` against the gateway with a credentials file of its own and `env`. */
  const cli = async (args: string[], env: Record<string, string | undefined> = {}) => {
    const run = spawnCli(args, {
      TOLLGATE_URL: gateway.httpUrl,
      TOLLGATE_CREDENTIALS_FILE: join(home, 'credentials.json'),
      TOLLGATE_TOKEN: undefined,
      ...env,
    });
    processes.push(run);
    // Generous: on a loaded shared machine one CLI process can take tens of seconds to start.
    return { code: await run.exited(180_000), output: run.output() };
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

  /** What the audit webhook received, in order. */
  const delivered: AuditItem[] = [];

  beforeAll(async () => {
    const store = await createTestDatabase();
    cleanups.push(store.drop);
    storeUrl = store.url;
    const target = await createTestDatabase();
    cleanups.push(target.drop);
    execFileSync('psql', [
      '-h',
      MACHINE_POSTGRES.host,
      '-U',
      MACHINE_POSTGRES.user,
      '-d',
      target.name,
      '-Xqc',
      'create table people (id int, email text)',
    ]);
    const dir = makeTempDir();
    cleanups.push(dir.remove);
    home = dir.path;
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        delivered.push(...(JSON.parse(body) as { records: AuditItem[] }).records);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
    const { port } = receiver.address() as { port: number };
    gateway = await startTunnelGateway([], {
      DATABASE_URL: store.url,
      TOLLGATE_AUDIT_WEBHOOK_URL: `http://127.0.0.1:${port}/audit`,
      TOLLGATE_WEBHOOK_SECRET: 'a-webhook-secret-for-the-test',
    });
    processes.push(gateway.cli);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    const agentToken = await createAgent(gateway, 'edge-audit');
    await createMachinePostgresConnection(
      gateway,
      'pg-audit',
      target.name,
      ['edge-audit'],
      'env:AUDIT_DB_PASSWORD',
    );
    processes.push(await spawnAgent(gateway.grpcUrl, agentToken, { env: { AUDIT_DB_PASSWORD: 'trust' } }));
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
      // What the roles grant under that scope, not only the scope: reading the log and nothing else.
      expect(whoami.output).toContain('may      audit:read; use no connection\n');
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

  describe('command records are complete in the export and the webhook', () => {
    const exec = (sql: string) =>
      cli(['exec', 'pg-audit', '--grpc', gateway.grpcUrl, '--format', 'csv', '-c', sql]);

    let insertSession = '';

    it('carries statement text (masked), decision, rule, rows and outcome, field by field', async () => {
      const since = new Date(Date.now() - 1000).toISOString();
      expect(
        await exec("insert into people values (1, 'ada@example.com'), (2, 'bob@example.org')"),
      ).toMatchObject({ code: 0 });
      const denied = await exec('drop table people');
      expect(denied.code).toBe(1);
      expect((await exec('select * from nowhere')).code).toBe(1);

      // The agent journals each command before running it (edge audit mode) and ships it right after:
      // the gateway has all five within moments.
      const exportNow = async () => {
        const exported = await cli(['audit', 'export', '--since', since]);
        expect(exported.code).toBe(0);
        const records = exported.output
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as AuditItem);
        const commands = records.filter((r) => r.action === 'command' || r.action === 'command.result');
        return { exported, records, commands };
      };
      await expect.poll(async () => (await exportNow()).commands.length, { timeout: 15_000 }).toBe(5);
      const { exported, records, commands } = await exportNow();
      const admin = { subject: 'sa:bootstrap-admin', actorChain: [], target: 'connection:pg-audit' };
      const insert = "insert into people values (1, '***@***.com'), (2, '***@***.org')";
      expect(commands).toHaveLength(5);
      const [allowed, result, drop, select, failed] = commands;
      expect(allowed).toMatchObject({ ...admin, action: 'command', decision: 'allow' });
      expect(typed(allowed?.payload)).toEqual({
        policyVersion: 1,
        eventId: 'string',
        sessionId: 'string',
        sessionSeq: 'number',
        sessionHash: 'string',
        command: insert,
        decision: 'allow',
        masking: ['pii'],
        journal: 'object',
      });
      expect(result).toMatchObject({ ...admin, action: 'command.result', decision: 'allow' });
      expect(typed(result?.payload)).toEqual({
        policyVersion: 1,
        eventId: 'string',
        sessionId: 'string',
        sessionSeq: 'number',
        sessionHash: 'string',
        command: insert,
        rows: 2,
        bytes: 'number',
        durationMs: 'number',
        outcome: 'ok',
        journal: 'object',
      });
      // Where each sits in the agent's journal chain (edge audit mode).
      expect(allowed?.payload.journal).toMatchObject({
        agent: 'edge-audit',
        seq: expect.any(Number) as unknown,
      });
      expect(result?.payload.sessionId).toBe(allowed?.payload.sessionId);
      expect(drop).toMatchObject({ ...admin, action: 'command', decision: 'deny' });
      expect(drop?.payload).toMatchObject({
        command: 'drop table people',
        decision: 'deny',
        rule: 'no-drop',
      });
      expect(drop?.payload.message).toBe(drop?.reason);
      expect(select?.payload).toMatchObject({ command: 'select * from nowhere', decision: 'allow' });
      expect(failed).toMatchObject({ ...admin, action: 'command.result', decision: 'error' });
      expect(failed?.payload).toMatchObject({
        command: 'select * from nowhere',
        rows: 0,
        outcome: 'error',
      });
      expect(failed?.payload.error).toMatch(/relation "nowhere" does not exist/);
      // No value the policy masks reaches the log.
      expect(exported.output).not.toMatch(/ada@example\.com|bob@example\.org/);

      // The webhook gets the same records, byte for byte in their hashed form.
      await expect
        .poll(() => delivered.filter((r) => r.action.startsWith('command')).length, { timeout: 15_000 })
        .toBe(5);
      expect(delivered.filter((r) => r.action.startsWith('command'))).toEqual(commands);

      insertSession = String(allowed?.payload.sessionId);

      // exec sessions end as normal, not as a lost agent.
      const closes = records.filter((r) => r.action === 'session.close');
      expect(closes.map((r) => r.payload.reason)).toEqual(['normal', 'normal', 'normal']);
    });

    it('tollgate audit lists the newest first, since a time, by account name; sessions show counts rows', async () => {
      const listed = await cli([
        'audit',
        '--subject',
        'bootstrap-admin',
        '--since',
        '10m',
        '--action',
        'command',
      ]);
      expect(listed.code).toBe(0);
      const lines = listed.output.split('\n').filter(Boolean);
      // Each line names the statement; a denied one also why.
      expect(lines.map((line) => line.replace(/^\d+ \S+ /, ''))).toEqual([
        'ALLOW command connection:pg-audit by sa:bootstrap-admin: select * from nowhere',
        expect.stringMatching(
          /^DENY command connection:pg-audit by sa:bootstrap-admin: drop table people \(.*DROP.*\)$/,
        ),
        expect.stringMatching(
          /^ALLOW command connection:pg-audit by sa:bootstrap-admin: insert into people values \(1, /,
        ),
      ]);
      const seqs = lines.map((line) => Number(line.split(' ')[0]));
      expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
      const none = await cli(['audit', '--since', new Date(Date.now() + 60_000).toISOString()]);
      expect(none).toEqual({ code: 0, output: '' });
      const unknown = await cli(['audit', '--subject', 'nobody@example.com', '--action', 'command']);
      expect(unknown).toEqual({ code: 0, output: '' });

      const shown = await cli(['sessions', 'show', insertSession]);
      expect(shown.output).toContain('subject    sa:bootstrap-admin');
      expect(shown.output).toMatch(/result {2}"insert into people .*": 2 rows, \d+ bytes/);
      expect(shown.output).toContain('session.close normal');
    });
  });

  describe('nobody can be locked out of administration', () => {
    const policyFile = (name: string, text: string) => {
      const path = join(home, name);
      writeFileSync(path, text);
      return path;
    };
    const onlyOps = POLICY.replace("subjects: ['group:tollgate-admins']", "subjects: ['group:ops']");

    it('refuses a policy that leaves nobody able to administer; the dry run says why', async () => {
      const nobody = policyFile('nobody.yaml', onlyOps);
      const dry = await cli(['admin', 'apply', '--dry-run', '-f', nobody]);
      expect(dry.code).toBe(1);
      expect(dry.output).toContain(
        'applying it would be refused: no enabled user or service account (of 1) could administer under this policy',
      );
      const applied = await cli(['admin', 'apply', '-f', nobody]);
      expect(applied.code).toBe(1);
      expect(applied.output).toMatch(
        /^tollgate admin apply: Bad Request \(400\): document\.roles: refused: no enabled user or service account/,
      );
      const active = await gateway.api<{ version: number }>('GET', '/api/v1/policy');
      expect(active.body.version).toBe(1);
    });

    it('admin recover on the gateway host grants admin back when the last administrator is gone', async () => {
      // Only sa:ops administers; then it disables itself, and nobody can apply anything.
      const ops = await gateway.api<{ clientSecret: string }>('POST', '/api/v1/service-accounts', {
        name: 'ops',
        groups: ['ops'],
      });
      expect(ops.status).toBe(201);
      expect((await cli(['admin', 'apply', '-f', policyFile('ops.yaml', onlyOps)])).code).toBe(0);
      const login = await cli(['login', '--client-id', 'ops'], {
        TOLLGATE_CLIENT_SECRET: ops.body.clientSecret,
        TOLLGATE_CREDENTIALS_FILE: join(home, 'ops.json'),
      });
      expect(login.code).toBe(0);
      expect(
        (
          await cli(['admin', 'service-accounts', 'disable', 'ops'], {
            TOLLGATE_CREDENTIALS_FILE: join(home, 'ops.json'),
          })
        ).code,
      ).toBe(0);
      const lockedOut = await cli(['admin', 'apply', '-f', policyFile('back.yaml', POLICY)]);
      expect(lockedOut.output).toContain('admin denied: no role grants admin to sa:bootstrap-admin');

      const badSubject = await cli([
        'admin',
        'recover',
        '--subject',
        'sa:nobody',
        '--database-url',
        storeUrl,
      ]);
      expect(badSubject.code).toBe(1);
      expect(badSubject.output).toContain('sa:nobody is not an enabled user or service account');
      const recovered = await cli([
        'admin',
        'recover',
        '--subject',
        'sa:bootstrap-admin',
        '--database-url',
        storeUrl,
      ]);
      expect(recovered.code).toBe(0);
      expect(recovered.output).toMatch(
        /^policy version 3 applied: role recovered-admin-\d{14} grants admin to sa:bootstrap-admin \(on top of version 2\); recorded as admin:recover\n$/,
      );
      // The running gateway honours it at once, and the record says who did it where.
      expect((await cli(['admin', 'apply', '-f', policyFile('back.yaml', POLICY)])).output).toContain(
        'applied as version 4',
      );
      const records = await auditAfter(0n, 'admin:recover');
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ target: 'policy:v3', decision: 'allow' });
      expect(records[0]?.subject).toMatch(/^local:\S+@\S+$/);
      expect(records[0]?.reason).toMatch(
        /^admin granted to sa:bootstrap-admin by role recovered-admin-\d{14}/,
      );
    });
  });
});
