// Helpers shared by the benchmark suites: statistics, tables, and the real `tollgate` CLI.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    n: sorted.length,
    min: sorted[0],
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1),
    mean,
  };
}

export function table(headers, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export const ms = (value) => `${value.toFixed(0)} ms`;

export function spawnTollgate(root, args, env = {}) {
  // A benchmark's agent keeps its audit journal in a directory of its own, removed when it exits, so
  // journals of agents a run killed do not pile up in ~/.tollgate/agent.
  const journalDir =
    args[0] === 'agent' && !env.TOLLGATE_AGENT_DATA_DIR && !args.includes('--data-dir')
      ? mkdtempSync(join(tmpdir(), 'tollgate-bench-agent-'))
      : undefined;
  const child = spawn(process.execPath, [join(root, 'apps/cli/bin/tollgate.js'), ...args], {
    env: { ...process.env, ...env, ...(journalDir ? { TOLLGATE_AGENT_DATA_DIR: journalDir } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (journalDir) child.once('exit', () => rmSync(journalDir, { recursive: true, force: true }));
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return { child, exited, output: () => output };
}

/** Resolves with the first match of `pattern` in a spawned Tollgate's output; throws if it exits or takes over 2 min. */
export async function waitForOutput(proc, pattern, what, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  let match;
  while (!(match = pattern.exec(proc.output()))) {
    if (Date.now() > deadline || proc.child.exitCode !== null)
      throw new Error(`${what} did not start:\n${proc.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return match;
}

export async function waitForHttp(url, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${url} not healthy within ${timeoutMs} ms`);
}

/** The role every benchmark policy starts with: the bootstrap admin (and tollgate-admins) may do anything. */
export const BENCH_ADMIN_ROLES = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins', 'sa:bootstrap-admin']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
`;

/** Bootstrap-admin secret the benchmark gateways start with (TOLLGATE_BOOTSTRAP_ADMIN_SECRET). */
export const BENCH_ADMIN_SECRET = 'bench-bootstrap-admin-secret-0123456789';

/** A POST helper for the gateway's API with an admin token (client credentials); `api.token` is the token. */
export async function adminApi(httpUrl) {
  const tokenResponse = await fetch(`${httpUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: 'bootstrap-admin',
      client_secret: BENCH_ADMIN_SECRET,
    }),
  });
  const admin = (await tokenResponse.json()).access_token;
  const api = async (path, body) => {
    const response = await fetch(`${httpUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  api.token = admin;
  return api;
}

// A floor for any design with Node processes in series: plain Node TCP relays (socket.pipe both
// ways, no gRPC, no HTTP/2, no parsing), chained like connect → gateway → agent.
const NODE_RELAY = `
const net = require('node:net');
const to = Number(process.argv[1]);
const server = net.createServer({ noDelay: true }, (c) => {
  const t = net.connect({ host: '127.0.0.1', port: to, noDelay: true });
  c.pipe(t);
  t.pipe(c);
  c.on('error', () => t.destroy());
  t.on('error', () => c.destroy());
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

/** `hops` plain Node relays in series in front of `toPort`: the port to dial, their pids, stop(). */
export async function nodeRelays(toPort, hops = 3) {
  const children = [];
  let port = toPort;
  for (let i = 0; i < hops; i++) {
    const child = spawn(process.execPath, ['-e', NODE_RELAY, String(port)], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(child);
    port = await new Promise((resolve) =>
      child.stdout.once('data', (d) => resolve(Number(String(d).trim()))),
    );
  }
  return { port, pids: children.map((c) => c.pid), stop: () => children.forEach((c) => c.kill()) };
}

/** User + system CPU time of each process so far, in ms (clock ticks of 10 ms). */
export const cpuMs = (pids) =>
  Object.fromEntries(
    Object.entries(pids).map(([k, pid]) => {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return [k, (Number(fields[11]) + Number(fields[12])) * 10];
    }),
  );

/**
 * A gateway (embedded store), one agent and one `tollgate connect` per connection, all real
 * `tollgate` processes: `connections` maps a name to its {protocol, target, credential?}.
 */
export async function startTollgateStack(root, connections, { gatewayEnv = {} } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
  const gw = spawnTollgate(root, ['gateway', '--data-dir', dataDir, '--http-port', '0', '--grpc-port', '0'], {
    TOLLGATE_BOOTSTRAP_ADMIN_SECRET: BENCH_ADMIN_SECRET,
    TOLLGATE_LOG_LEVEL: 'info',
    ...gatewayEnv,
  });
  // Generous: on a shared machine at load 30 the embedded store's migrations alone took minutes.
  const deadline = Date.now() + 600_000;
  let match;
  while (!(match = /"httpUrl":"([^"]+)","grpcAddress":"([^"]+)"/.exec(gw.output()))) {
    if (Date.now() > deadline || gw.child.exitCode !== null) {
      gw.child.kill('SIGKILL');
      throw new Error(`gateway did not start:\n${gw.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const [, httpUrl, grpcAddress] = match;
  const api = await adminApi(httpUrl);
  const { token } = await api('/api/v1/agents', { name: 'bench' });
  for (const [name, spec] of Object.entries(connections)) {
    await api('/api/v1/connections', { name, ...spec, agents: ['bench'] });
  }
  const grpcUrl = `http://${grpcAddress}`;
  const agent = spawnTollgate(root, ['agent', '--gateway', grpcUrl, '--log-level', 'warn'], {
    TOLLGATE_AGENT_TOKEN: token,
  });
  await new Promise((r) => setTimeout(r, 1500));
  const connects = {};
  for (const name of Object.keys(connections)) {
    const cli = spawnTollgate(root, ['connect', name, '--port', '0', '--grpc', grpcUrl], {
      TOLLGATE_TOKEN: api.token,
      TOLLGATE_URL: httpUrl,
    });
    let m;
    while (!(m = /listening on 127\.0\.0\.1:(\d+)/.exec(cli.output())))
      await new Promise((r) => setTimeout(r, 20));
    connects[name] = { cli, port: Number(m[1]) };
  }
  const stop = async () => {
    for (const p of [...Object.values(connects).map((c) => c.cli), agent, gw]) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { gw, agent, connects, httpUrl, grpcUrl, api, stop };
}
