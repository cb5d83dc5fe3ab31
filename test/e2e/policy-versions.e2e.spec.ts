import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTcpConnection,
  dial,
  makeTempDir,
  readAll,
  spawnAgent,
  spawnCli,
  spawnConnect,
  startEchoStack,
  type CliProcess,
  type EchoStack,
  type TcpTarget,
  type TunnelGateway,
} from '@tollgate/testing';

const V1 = `version: 1
metadata: { name: production }
roles:
  - name: tollgate-admins
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
`;

// Admins keep the API but lose their sessions: the live session is revoked.
const V2 = `version: 1
metadata: { name: production }
roles:
  - name: tollgate-admins
    subjects: ['group:tollgate-admins']
    verbs: [admin, 'audit:read', review]
guardrails:
  - name: no-drop
    deny: { statements: [DROP] }
`;

const BAD = `version: 1
roles:
  - name: dba
    red_only: true
    subjects: [group:dba]
    verbs: [connect]
`;

describe('policy as code through `tollgate admin apply` (real gateway, agent and CLI)', () => {
  let stack: EchoStack | undefined;
  let processes: CliProcess[];
  let gateway: TunnelGateway;
  let agent: CliProcess;
  let echo: TcpTarget;
  const dir = makeTempDir('tollgate-policy-');
  const file = (name: string, text: string) => {
    const path = join(dir.path, name);
    writeFileSync(path, text);
    return path;
  };
  const tollgate = async (...args: string[]) => {
    const cli = spawnCli(args, { TOLLGATE_URL: gateway.httpUrl, TOLLGATE_TOKEN: gateway.adminToken });
    const code = await cli.exited();
    return { code, output: cli.output(), stdout: cli.stdout() };
  };

  beforeAll(async () => {
    stack = await startEchoStack();
    ({ gateway, echo, processes } = stack);
    const token = await createAgent(gateway, 'edge-1');
    await createTcpConnection(gateway, 'echo', echo.port, ['edge-1']);
    agent = await spawnAgent(gateway.grpcUrl, token);
    processes.push(agent);
  });

  afterAll(async () => {
    await stack?.stop();
    dir.remove();
  });

  it('before any version is stored, says which default is in force and prints it', async () => {
    const versions = await tollgate('admin', 'policy', 'versions');
    expect(versions.code).toBe(0);
    expect(versions.output).toContain(
      'no policy version is stored yet: the built-in default policy is in force',
    );
    const show = await tollgate('admin', 'policy', 'show');
    expect(show.code).toBe(0);
    expect(show.output).toContain('# no policy version is stored yet');
    // The document alone is on stdout, as `apply -f` takes it: `show > file` keeps no note.
    expect(show.stdout).toMatch(/^version: 1$/m);
    expect(show.stdout).not.toContain('no policy version is stored yet');
  });

  it('applies a version, pushes it to the agent, and names file, line and path of a bad document', async () => {
    const applied = await tollgate('admin', 'apply', '-f', file('v1.yaml', V1), '-m', 'first');
    expect(applied.output).toContain('policy: applied as version 1');
    expect(applied.code).toBe(0);
    await agent.waitFor(/"policyVersion":1,[^\n]*"msg":"bundle applied"/);

    const bad = await tollgate('admin', 'apply', '-f', file('bad.yaml', BAD));
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(
      /bad\.yaml:4:5: roles\[0\]\.red_only: unknown key "red_only": did you mean "read_only"\?/,
    );
  });

  it('dry run prints the changes and the live sessions affected, and stores nothing', async () => {
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'echo');
    processes.push(connect.cli);
    const socket = await dial(connect.port);
    const echoed = new Promise<Buffer>((resolve) => socket.once('data', resolve));
    socket.write('ping');
    expect((await echoed).toString()).toBe('ping');
    // The row's open state rides with the audit log's next commit (within ~50 ms).
    let sessions: { items: { id: string; state: string }[] } = { items: [] };
    await expect
      .poll(
        async () =>
          (sessions = (
            await gateway.api<{ items: { id: string; state: string }[] }>(
              'GET',
              '/api/v1/sessions?state=open',
            )
          ).body).items.length,
        { timeout: 10_000, interval: 100 },
      )
      .toBeGreaterThan(0);
    const live = sessions.items[0];

    const dry = await tollgate('admin', 'apply', '--dry-run', '-f', file('v2.yaml', V2));
    expect(dry.code).toBe(0);
    expect(dry.output).toContain('dry run against version 1: nothing was applied');
    expect(dry.output).toMatch(/changed\s+roles tollgate-admins/);
    expect(dry.output).toMatch(/added\s+guardrails no-drop/);
    expect(dry.output).toContain("-    connections: ['*']");
    expect(dry.output).toContain('+  - name: no-drop');
    expect(dry.output).toContain('live sessions affected: 1');
    expect(dry.output).toContain(`${live.id} sa:bootstrap-admin on echo: revoked`);
    socket.destroy();

    const versions = await tollgate('admin', 'policy', 'versions');
    expect(versions.output.trim().split('\n')).toHaveLength(2); // header + version 1
  });

  it('applying a version ends the live sessions it no longer allows', async () => {
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'echo');
    processes.push(connect.cli);
    const socket = await dial(connect.port);
    const echoed = new Promise<Buffer>((resolve) => socket.once('data', resolve));
    socket.write('ping');
    expect((await echoed).toString()).toBe('ping');
    const closed = readAll(socket);
    expect((await tollgate('admin', 'apply', '-f', file('v2.yaml', V2))).output).toContain(
      'policy: applied as version 2',
    );
    await closed;
    const reasons = async () =>
      (
        await gateway.api<{ items: { closeReason: string | null }[] }>('GET', '/api/v1/sessions?state=closed')
      ).body.items.map((s) => s.closeReason ?? '');
    await expect
      .poll(reasons, { timeout: 10_000 })
      .toContainEqual(expect.stringMatching(/^policy version 2 no longer allows this session: /));
  });

  it('lists versions with author and diff, and restores an old one as a new version', async () => {
    const list = await tollgate('admin', 'policy', 'versions');
    expect(list.output).toMatch(/^2\s+yes\s+\S+\s+sa:bootstrap-admin/m);
    expect(list.output).toMatch(/^1\s+\S+\s+sa:bootstrap-admin\s+first/m);

    const show = await tollgate('admin', 'policy', 'show', '2');
    expect(show.output).toContain('changes against version 1:');
    // Without a version: the active one.
    const active = await tollgate('admin', 'policy', 'show');
    expect(active.output).toMatch(/^version 2 \(active\)$/m);
    expect(show.output).toContain("-    connections: ['*']");

    const restore = await tollgate('admin', 'policy', 'restore', '1');
    expect(restore.output).toContain('policy version 1 restored as version 3');
    expect((await tollgate('admin', 'policy', 'show', '3', '--document')).output).toBe(V1);
    await agent.waitFor(/"policyVersion":3,[^\n]*"msg":"bundle applied"/);
    const missing = await tollgate('admin', 'policy', 'restore', '99');
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('policy version "99" does not exist');
  });
});
