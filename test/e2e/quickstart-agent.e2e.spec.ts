import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bootstrapAdminToken,
  makeDataDir,
  spawnCli,
  TEST_BOOTSTRAP_ADMIN_SECRET,
  type CliProcess,
} from '@tollgate/testing';

async function startQuickstart(
  dataDir: string,
): Promise<{ cli: CliProcess; httpUrl: string; token: string }> {
  const cli = spawnCli(
    [
      'start',
      '--data-dir',
      dataDir,
      '--http-port',
      '0',
      '--grpc-port',
      '0',
      '--dev-idp-port',
      '0',
      '--postgres-port',
      '0',
      '--mysql-port',
      '0',
      '--ssh-port',
      '0',
      '--log-format',
      'json',
    ],
    { TOLLGATE_BOOTSTRAP_ADMIN_SECRET: TEST_BOOTSTRAP_ADMIN_SECRET },
  );
  const [, httpUrl] = (await cli.waitFor(/API\s+(http:\/\/\S+)\/api\/v1/)) as unknown as [string, string];
  await cli.waitFor(/agent\s+"local"/);
  return { cli, httpUrl, token: await bootstrapAdminToken(httpUrl) };
}

async function waitForOnline(httpUrl: string, token: string): Promise<{ status: string; version: string }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await fetch(`${httpUrl}/api/v1/agents/local`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await response.json()) as { status: string; version: string };
    if (body.status === 'online' || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('quickstart: `tollgate start` runs a local agent registered with its gateway', () => {
  const running: CliProcess[] = [];
  const cleanups: (() => void)[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('registers the agent once, keeps its token (0600) in the data dir, and reuses it after a restart (and a SIGKILL)', async () => {
    const dir = makeDataDir();
    cleanups.push(dir.remove);
    const first = await startQuickstart(dir.path);
    running.push(first.cli);
    expect((await waitForOnline(first.httpUrl, first.token)).status).toBe('online');
    const tokenFile = join(dir.path, 'local-agent.token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, 'utf8');
    expect(token).toMatch(/^tga_/);
    expect(await first.cli.stop('SIGTERM')).toBe(0);

    const second = await startQuickstart(dir.path);
    running.push(second.cli);
    expect((await waitForOnline(second.httpUrl, second.token)).status).toBe('online');
    expect(readFileSync(tokenFile, 'utf8')).toBe(token);
    const tokens = await fetch(`${second.httpUrl}/api/v1/agents/local/tokens`, {
      headers: { authorization: `Bearer ${second.token}` },
    });
    expect(((await tokens.json()) as { items: unknown[] }).items).toHaveLength(1);

    // Killed without a chance to clear its agent's presence: on the embedded store the gateway is
    // the only replica, so the restarted process's agent (a new instance) is not taken for a second one.
    await second.cli.stop('SIGKILL');
    const third = await startQuickstart(dir.path);
    running.push(third.cli);
    expect((await waitForOnline(third.httpUrl, third.token)).status).toBe('online');
    // The terminal shows warnings and errors; everything else is in the data dir's log file.
    const log = readFileSync(join(dir.path, 'gateway.log'), 'utf8');
    expect(log).toContain('"msg":"agent registered"');
    expect(third.cli.output() + log).not.toContain('another instance of this agent');
  }, 180_000); // three full quickstarts (gateway, dev IdP, agent) in a row
});
