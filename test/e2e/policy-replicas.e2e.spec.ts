import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTcpConnection,
  dial,
  readAll,
  spawnAgent,
  spawnConnect,
  startEchoStack,
  startTunnelGateway,
  type EchoStack,
  type TunnelGateway,
} from '@tollgate/testing';

const V1 = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
`;

// Admins administer everywhere but connect only to team-a's connections.
const TEAM_A = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    verbs: [admin, 'audit:read', review]
  - name: team-a
    subjects: ['group:tollgate-admins']
    connections: ['tag:team=a']
    verbs: [connect]
`;

// Admins keep the API but lose their sessions.
const V2 = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    verbs: [admin, 'audit:read', review]
`;

/**
 * Two gateway replicas on one store: a version applied through one ends the sessions it no longer
 * allows on the other too (each replica hears the store's announcement and checks the sessions it
 * relays), as it does on the replica it was applied through.
 */
describe('a policy applied through one replica governs the sessions another relays', () => {
  let stack: EchoStack;
  let other: TunnelGateway;

  beforeAll(async () => {
    stack = await startEchoStack();
    expect((await stack.gateway.api('POST', '/api/v1/policy', { document: V1 })).status).toBe(201);
    other = await startTunnelGateway([], { DATABASE_URL: stack.databaseUrl });
    stack.processes.push(other.cli);
    const token = await createAgent(stack.gateway, 'edge');
    await createTcpConnection(stack.gateway, 'echo', stack.echo.port, ['edge']);
    // The agent, the client and so the session are on the other replica.
    stack.processes.push(await spawnAgent(other.grpcUrl, token));
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  /** A `tollgate connect` session through replica B that echoes; `closed` once it is read to its end. */
  const echoThroughReplicaB = async (connection: string): Promise<{ closed: Promise<unknown> }> => {
    const connect = await spawnConnect(other.grpcUrl, other.adminToken, connection);
    stack.processes.push(connect.cli);
    const socket = await dial(connect.port);
    const echoed = new Promise<Buffer>((resolve) => socket.once('data', resolve));
    socket.write('ping');
    expect((await echoed).toString()).toBe('ping');
    return { closed: readAll(socket) };
  };
  /** The close reasons of the sessions `path` lists. */
  const closeReasons = async (path: string) =>
    (await stack.gateway.api<{ items: { closeReason: string | null }[] }>('GET', path)).body.items.map(
      (s) => s.closeReason ?? '',
    );

  it('a version that revokes access, applied through replica A, ends the session replica B relays', async () => {
    const { closed } = await echoThroughReplicaB('echo');
    expect((await stack.gateway.api('POST', '/api/v1/policy', { document: V2 })).status).toBe(201);
    await closed;
    await expect
      .poll(() => closeReasons('/api/v1/sessions?state=closed'), { timeout: 10_000 })
      .toContainEqual(expect.stringMatching(/^policy version 2 no longer allows this session: /));
  });

  it('a connection retagged out of the role that covers it, through replica A, ends the session replica B relays', async () => {
    await createTcpConnection(stack.gateway, 'echo-a', stack.echo.port, ['edge']);
    expect(
      (await stack.gateway.api('PATCH', '/api/v1/connections/echo-a', { tags: { team: 'a' } })).status,
    ).toBe(200);
    expect((await stack.gateway.api('POST', '/api/v1/policy', { document: TEAM_A })).status).toBe(201);
    const { closed } = await echoThroughReplicaB('echo-a');
    expect(
      (await stack.gateway.api('PATCH', '/api/v1/connections/echo-a', { tags: { team: 'b' } })).status,
    ).toBe(200);
    await closed;
    await expect
      .poll(() => closeReasons('/api/v1/sessions?state=closed&connection=echo-a'), { timeout: 10_000 })
      .toContainEqual(
        expect.stringMatching(
          /^its connection changed, and policy version 3 no longer allows this session: /,
        ),
      );
  });
});
