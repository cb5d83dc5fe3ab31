// The Tollgate stack the MySQL benchmark and `npm run fidelity:mysql` run through: a gateway (embedded
// store, its MySQL listener on a free loopback port), one agent, one `mysql` connection and
// `tollgate connect` for it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminApi, BENCH_ADMIN_ROLES, BENCH_ADMIN_SECRET, spawnTollgate, waitForOutput } from '../lib.mjs';

/**
 * Starts gateway + agent + `tollgate connect` for a connection `my-bench` to `target` ({port, user,
 * password?, database}) under `policy`. Resolves with the connect port, the gateway listener's port,
 * and the credential and user name the listener takes (the bootstrap admin's token).
 */
export async function startMysqlTollgate(root, target, policy = BENCH_ADMIN_ROLES) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-my-'));
  const procs = [];
  const stop = async () => {
    for (const p of procs.reverse()) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const gw = spawnTollgate(
      root,
      [
        'gateway',
        '--http-port',
        '0',
        '--grpc-port',
        '0',
        '--mysql-port',
        '0',
        '--log-format',
        'json',
        '--data-dir',
        dataDir,
      ],
      {
        TOLLGATE_BOOTSTRAP_ADMIN_SECRET: BENCH_ADMIN_SECRET,
        TOLLGATE_LOG_LEVEL: 'info',
        // `tollgate connect` runs on the admin's access token, which cannot be refreshed: the
        // default 15 minutes ended the fidelity run through Tollgate midway (every new connection
        // reset at the handshake once it expired). A day, the most the gateway takes.
        TOLLGATE_ACCESS_TOKEN_TTL_SECONDS: '86400',
      },
    );
    procs.push(gw);
    const [, httpUrl, grpcAddress] = await waitForOutput(
      gw,
      /"httpUrl":"([^"]+)","grpcAddress":"([^"]+)"/,
      'gateway',
    );
    const [, listenerPort] = await waitForOutput(
      gw,
      /"mysqlAddress":"[^"]+:(\d+)"/,
      'gateway MySQL listener',
    );
    const api = await adminApi(httpUrl);
    await api('/api/v1/policy', { document: policy });
    const { token } = await api('/api/v1/agents', { name: 'bench-my' });
    await api('/api/v1/connections', {
      name: 'my-bench',
      protocol: 'mysql',
      target: {
        host: '127.0.0.1',
        port: target.port,
        database: target.database,
        username: target.user,
        tls: { mode: 'disable' },
      },
      ...(target.password ? { credential: { password: 'env:BENCH_MY_PASSWORD' } } : {}),
      agents: ['bench-my'],
    });
    const grpcUrl = `http://${grpcAddress}`;
    const agent = spawnTollgate(root, ['agent', '--gateway', grpcUrl, '--log-format', 'json'], {
      TOLLGATE_AGENT_TOKEN: token,
      BENCH_MY_PASSWORD: target.password ?? '',
      TOLLGATE_LOG_LEVEL: 'info',
    });
    procs.push(agent);
    await waitForOutput(agent, /"msg":"bundle applied"/, 'agent');
    const cli = spawnTollgate(root, ['connect', 'my-bench', '--port', '0', '--grpc', grpcUrl], {
      TOLLGATE_TOKEN: api.token,
      // Its HTTP lookups go to this gateway, not to whatever listens on the default 127.0.0.1:8009.
      TOLLGATE_URL: httpUrl,
    });
    procs.push(cli);
    const [, port] = await waitForOutput(cli, /listening on 127\.0\.0\.1:(\d+)/, 'tollgate connect');
    return {
      port: Number(port),
      listenerPort: Number(listenerPort),
      credential: api.token,
      userName: 'sa:bootstrap-admin',
      stop,
      gw,
      agent,
      cli,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
