import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTestDatabase,
  MACHINE_POSTGRES,
  postTokenEndpoint,
  runPsql,
  serviceAccountToken,
  spawnAgent,
  spawnConnect,
  startEchoStack,
  type EchoStack,
  type PsqlRun,
} from '@tollgate/testing';
import { Client } from 'pg';

const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';

/**
 * Revocation reaches what was derived from a token (RFC 8693 delegation): a pipeline's own token A
 * is the actor token of an exchange that yields B (acting for the subject token's holder); revoking
 * A refuses B at a new `tollgate connect` and ends the live sessions opened with B, and with C
 * exchanged from B (a chain of three). Real gateway, agent, `tollgate connect` and psql.
 */
describe('revoking a token ends what was derived from it (actor and subject tokens)', () => {
  let stack: EchoStack;
  let target: Awaited<ReturnType<typeof createTestDatabase>>;
  const secrets: Record<string, string> = {};

  const api = <T = unknown>(method: string, path: string, body?: unknown) =>
    stack.gateway.api<T>(method, path, body);
  const psql = (port: number, args: string[]): Promise<PsqlRun> =>
    runPsql(port, args, { user: 'me', database: 'app' });
  const saToken = async (name: string) =>
    (await serviceAccountToken(stack.gateway.httpUrl, name, secrets[name])).access_token;
  const exchange = async (subjectToken: string, actorToken: string) => {
    const { status, body } = await postTokenEndpoint(stack.gateway.httpUrl, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subjectToken,
      subject_token_type: ACCESS,
      actor_token: actorToken,
      actor_token_type: ACCESS,
    });
    expect(status, JSON.stringify(body)).toBe(200);
    return body['access_token'] as string;
  };
  const revoke = async (token: string) => {
    const response = await fetch(`${stack.gateway.httpUrl}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(response.status).toBe(200);
  };
  const listen = async (token: string) => {
    const connect = await spawnConnect(stack.gateway.grpcUrl, token, 'pg');
    stack.processes.push(connect.cli);
    return connect.port;
  };
  const runningCount = async (text: string): Promise<string> => {
    const client = new Client({ ...MACHINE_POSTGRES, database: target.name });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(
        'select count(*) as n from pg_stat_activity where query like $1 and pid <> pg_backend_pid()',
        [`%${text}%`],
      );
      return rows[0].n;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    stack = await startEchoStack();
    target = await createTestDatabase();
    stack.cleanups.push(target.drop);
    const agentToken = await createAgent(stack.gateway, 'edge');
    const created = await api('POST', '/api/v1/connections', {
      name: 'pg',
      protocol: 'postgres',
      target: {
        host: MACHINE_POSTGRES.host,
        port: MACHINE_POSTGRES.port,
        database: target.name,
        username: MACHINE_POSTGRES.user,
        tls: { mode: 'disable' },
      },
      agents: ['edge'],
    });
    expect(created.status).toBe(201);
    for (const name of ['pipeline', 'deploy-step']) {
      const account = await api<{ clientSecret: string }>('POST', '/api/v1/service-accounts', {
        name,
        groups: [],
      });
      expect(account.status).toBe(201);
      secrets[name] = account.body.clientSecret;
    }
    stack.processes.push(await spawnAgent(stack.gateway.grpcUrl, agentToken));
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('revoking the actor token A ends the live sessions of B and C and refuses a new connect', async () => {
    const a = await saToken('pipeline');
    const b = await exchange(stack.gateway.adminToken, a);
    const c = await exchange(b, await saToken('deploy-step'));

    const bPort = await listen(b);
    const cPort = await listen(c);
    const runningB = psql(bPort, ['-v', 'VERBOSITY=verbose', '-c', 'select pg_sleep(30) as nap_of_b']);
    const runningC = psql(cPort, ['-v', 'VERBOSITY=verbose', '-c', 'select pg_sleep(30) as nap_of_c']);
    await expect.poll(() => runningCount('nap_of_b'), { timeout: 20_000 }).toBe('1');
    await expect.poll(() => runningCount('nap_of_c'), { timeout: 20_000 }).toBe('1');

    await revoke(a);
    for (const result of [await runningB, await runningC]) {
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /FATAL: {2}28000: tollgate: session ended: the access token of this session was revoked/,
      );
    }
    await expect.poll(() => runningCount('nap_of_'), { timeout: 5_000 }).toBe('0');

    // A new `tollgate connect` with B is refused at the session open, with the reason.
    const again = await psql(await listen(b), ['-c', 'select 1']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /tollgate: the gateway refused the access token: invalid token: a token it was derived from \(as the actor token/,
    );
    // The subject token B acted for is untouched.
    expect(await psql(await listen(stack.gateway.adminToken), ['-c', 'select 40 + 2'])).toMatchObject({
      code: 0,
      stdout: '42\n',
    });
  });

  it('revoking B leaves A working and ends only the sessions of B', async () => {
    const a = await saToken('pipeline');
    const b = await exchange(stack.gateway.adminToken, a);
    const b2 = await exchange(stack.gateway.adminToken, a);
    const running = psql(await listen(b), ['-v', 'VERBOSITY=verbose', '-c', 'select pg_sleep(30) as nap_b1']);
    await expect.poll(() => runningCount('nap_b1'), { timeout: 20_000 }).toBe('1');
    const b2Port = await listen(b2);
    await revoke(b);
    expect((await running).code).toBe(2);
    expect(await psql(b2Port, ['-c', 'select 7'])).toMatchObject({ code: 0, stdout: '7\n' });
    const me = await fetch(`${stack.gateway.httpUrl}/api/v1/me`, {
      headers: { authorization: `Bearer ${a}` },
    });
    expect(me.status).toBe(200);
  });
});
