// SSH: 1 GiB through `ssh host cat FILE` directly to sshd, through OpenSSH ProxyJump (a second
// sshd as jump host on loopback), through `tollgate connect` and through the gateway's own SSH
// listener; keystroke echo latency in a PTY shell on each path; the gateway's memory per idle SSH
// session. Every path uses OpenSSH's ssh client and a real sshd; Tollgate's processes are real
// `tollgate` commands. CPU time per GiB of each Tollgate process and of the ssh client and sshd
// says where the time goes.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adminApi,
  BENCH_ADMIN_ROLES,
  BENCH_ADMIN_SECRET,
  spawnTollgate as spawnTollgateProcess,
  summarize,
  table,
} from '../lib.mjs';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const KiB = 1024;
const BYTES = Number(process.env.BENCH_SSH_BYTES ?? GiB);
const KEYS = Number(process.env.BENCH_SSH_KEYS ?? 300);
const IDLE = Number(process.env.BENCH_SSH_IDLE ?? 500);
// Sessions opened and closed before the idle measurement, so code loaded and compiled on first use
// (and the heap's growth to fit it) is not charged to the measured sessions.
const IDLE_WARMUP = Number(process.env.BENCH_SSH_IDLE_WARMUP ?? 50);
// BENCH_SSH_IDLE_ONLY=1: no transfers, only the gateway's memory per idle session (a few minutes).
const IDLE_ONLY = Boolean(process.env.BENCH_SSH_IDLE_ONLY);
// BENCH_SSH_PATHS=listener,connect (names' first words): only those Tollgate paths (and direct, whose
// run gives the idle rates), for profiling one path at a time. The table then lacks the others.
const ONLY = process.env.BENCH_SSH_PATHS?.split(',');
// BENCH_SSH_PROFILE=DIR: each Tollgate process writes a V8 CPU profile (.cpuprofile) into DIR when
// the suite stops it (SIGTERM, then SIGKILL after 15 s); open them in Chrome DevTools or speedscope.
const PROFILE = process.env.BENCH_SSH_PROFILE
  ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_SSH_PROFILE}` }
  : {};

const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

/**
 * Bytes malloc has handed out and not had back in the whole process (glibc's malloc_stats(), called
 * in the process through gdb, prints them on its stderr): Buffers' memory and native state (OpenSSL
 * cipher contexts, HTTP/2 streams, libuv handles) alike, which neither RSS (pages malloc keeps after
 * a free are reused first) nor V8's figures show. Undefined without gdb.
 */
async function mallocInUse(proc) {
  const mark = proc.output().length;
  try {
    execFileSync('gdb', ['-p', String(proc.child.pid), '-batch', '-ex', 'call (void)malloc_stats()'], {
      stdio: 'ignore',
      timeout: 60_000,
    });
  } catch {
    return undefined;
  }
  for (let i = 0; i < 100; i++) {
    const text = proc.output().slice(mark);
    const total = /Total \(incl\. mmap\):\s+system bytes\s+=\s+\d+\s+in use bytes\s+=\s+(\d+)/.exec(text);
    if (total) {
      // Arena 0 is the main thread's, where sessions live; the others are threads' (the store's
      // worker, V8's compiler and GC threads), whose churn is noise here. What no arena lists was
      // mmap()ed whole (large allocations), wherever it was made.
      const arenas = [...text.matchAll(/Arena (\d+):\s+system bytes\s+=\s+\d+\s+in use bytes\s+=\s+(\d+)/g)];
      const arenaTotal = arenas.reduce((sum, a) => sum + Number(a[2]), 0);
      const main = Number(arenas.find((a) => a[1] === '0')?.[2] ?? 0);
      return { total: Number(total[1]), main: main + Number(total[1]) - arenaTotal };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

/**
 * The gateway's inspector (it runs with --inspect on a free loopback port): a full garbage
 * collection, then process.memoryUsage(), so the idle sessions are measured on a settled heap
 * rather than on wherever the last collection happened to leave it.
 */
async function inspector(url) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`inspector ${url} did not answer`));
  });
  let last = 0;
  const pending = new Map();
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  };
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++last;
      pending.set(id, (m) =>
        m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result),
      );
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    async settledMemory() {
      // Twice, a second apart: Buffers' memory is freed by a sweeper after the collection that found
      // them dead, and a second collection finds what the first one's finalizers released.
      await send('HeapProfiler.collectGarbage');
      await new Promise((r) => setTimeout(r, 1000));
      await send('HeapProfiler.collectGarbage');
      const { result } = await send('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      });
      return JSON.parse(result.value);
    },
    send,
    close: () => ws.close(),
  };
}

const BASE_OPTIONS = [
  '-F',
  '/dev/null',
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'IdentityAgent=none',
  '-o',
  'LogLevel=ERROR',
];

/** Runs an ssh command whose stdout is counted (not kept); resolves bytes, seconds and the client's CPU. */
function runSsh(args, env = {}, program = 'ssh') {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(program, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let received = 0;
    let stderr = '';
    child.stdout.on('data', (d) => (received += d.length));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`${program} exited ${code}: ${stderr}`));
      resolve({ received, seconds });
    });
  });
}

/** Keystroke echo in a PTY shell: one byte written, the time until the echo arrives, KEYS times. */
function echoLatency(args, env = {}, program = 'ssh') {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.once('error', reject);
    let waiting;
    let seen = '';
    child.stdout.on('data', (d) => {
      seen += d.toString('latin1');
      const w = waiting;
      waiting = undefined;
      w?.();
    });
    const until = (predicate, timeoutMs = 30_000) =>
      new Promise((res, rej) => {
        const timer = setTimeout(
          () => rej(new Error(`no prompt: ${JSON.stringify(seen.slice(-200))}`)),
          timeoutMs,
        );
        const check = () => {
          if (predicate()) {
            clearTimeout(timer);
            res();
          } else waiting = check;
        };
        check();
      });
    (async () => {
      await until(() => /[$#] $/.test(seen));
      const samples = [];
      for (let i = 0; i < KEYS + 20; i++) {
        // Alternating a letter and Backspace keeps the line short; each echoes at once.
        const key = i % 2 === 0 ? 'x' : '\x7f';
        const before = seen.length;
        const started = performance.now();
        child.stdin.write(key);
        await until(() => seen.length > before);
        if (i >= 20) samples.push((performance.now() - started) * 1000);
        await new Promise((r) => setTimeout(r, 2));
      }
      child.stdin.write('\x04');
      child.kill();
      resolve(summarize(samples));
    })().catch((error) => {
      child.kill();
      reject(error);
    });
  });
}

/** Tollgate processes the suite started, so a failed start leaves none behind. */
const spawned = [];
const spawnTollgate = (...args) => {
  const proc = spawnTollgateProcess(...args);
  spawned.push(proc.child);
  return proc;
};

async function tollgateStack(root, testing, sshd, dir) {
  const dataDir = join(dir, 'data');
  const gw = spawnTollgate(
    root,
    ['gateway', '--data-dir', dataDir, '--http-port', '0', '--grpc-port', '0', '--ssh-port', '0'],
    {
      TOLLGATE_BOOTSTRAP_ADMIN_SECRET: BENCH_ADMIN_SECRET,
      TOLLGATE_LOG_LEVEL: 'info',
      ...PROFILE,
      // The inspector is how the idle measurement collects garbage and reads the heap (see inspector()).
      NODE_OPTIONS: [process.env.NODE_OPTIONS, PROFILE.NODE_OPTIONS, '--inspect=127.0.0.1:0']
        .filter(Boolean)
        .join(' '),
    },
  );
  const deadline = Date.now() + 120_000;
  let match;
  while (!(match = /"httpUrl":"([^"]+)","grpcAddress":"([^"]+)"/.exec(gw.output()))) {
    if (Date.now() > deadline) throw new Error(`gateway did not start:\n${gw.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const [, httpUrl, grpcAddress] = match;
  const sshPort = Number(/"sshAddress":"127\.0\.0\.1:(\d+)"/.exec(gw.output())[1]);
  const inspectorUrl = /Debugger listening on (ws:\/\/\S+)/.exec(gw.output())[1];
  const api = await adminApi(httpUrl);
  await api('/api/v1/policy', { document: BENCH_ADMIN_ROLES });
  const { token } = await api('/api/v1/agents', { name: 'bench' });
  await api('/api/v1/connections', {
    name: 'bench-ssh',
    protocol: 'ssh',
    target: {
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.user.name,
      hostKeyFingerprint: sshd.fingerprint,
    },
    credential: { password: 'env:SSH_PASSWORD' },
    agents: ['bench'],
  });
  const grpcUrl = `http://${grpcAddress}`;
  const agent = spawnTollgate(root, ['agent', '--gateway', grpcUrl, '--log-level', 'warn'], {
    TOLLGATE_AGENT_TOKEN: token,
    SSH_PASSWORD: sshd.user.password,
    TOLLGATE_AGENT_SSH_HOST_PINS_FILE: join(dir, 'pins'),
    ...PROFILE,
  });
  await new Promise((r) => setTimeout(r, 1500));
  // With --port, connect falls back to a byte relay when it cannot ask the gateway (TOLLGATE_URL)
  // for the connection's protocol in time (a busy machine): started again until it serves SSH.
  let connect;
  let m;
  for (let attempt = 1; ; attempt++) {
    connect = spawnTollgate(root, ['connect', 'bench-ssh', '--port', '0', '--grpc', grpcUrl], {
      TOLLGATE_TOKEN: api.token,
      TOLLGATE_URL: httpUrl,
      TOLLGATE_SSH_HOST_KEY_FILE: join(dir, 'connect_host_key'),
      ...PROFILE,
    });
    while (!(m = /listening on 127\.0\.0\.1:(\d+)[\s\S]*connect with: (\S+)/.exec(connect.output()))) {
      if (Date.now() > deadline) throw new Error(`connect did not start:\n${connect.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (m[2] === 'ssh' || attempt === 3) break;
    connect.child.kill('SIGKILL');
    await connect.exited;
  }
  if (m[2] !== 'ssh') throw new Error(`connect did not serve SSH:\n${connect.output()}`);
  const stop = async () => {
    for (const p of [connect, agent, gw]) {
      // A profiled process writes its profile as it exits, which SIGKILL would not let it do.
      p.child.kill(process.env.BENCH_SSH_PROFILE ? 'SIGTERM' : 'SIGKILL');
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
      await p.exited;
      clearTimeout(timer);
    }
  };
  return { gw, agent, connect, connectPort: Number(m[1]), sshPort, inspectorUrl, token: api.token, stop };
}

/** Idle SSH sessions through the gateway listener (ssh2 clients here, each with `cat` running). */
async function idleSessions(ssh2, port, token, count) {
  const clients = [];
  for (let i = 0; i < count; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, async () => {
        const client = new ssh2.Client();
        await new Promise((resolve, reject) => {
          client.once('ready', resolve);
          client.once('error', reject);
          client.connect({
            host: '127.0.0.1',
            port,
            username: 'bench-ssh',
            password: token,
            readyTimeout: 60_000,
          });
        });
        await new Promise((resolve, reject) =>
          client.exec('cat', (error, channel) => {
            if (error) return reject(error);
            channel.on('data', () => undefined);
            channel.write('x');
            channel.once('data', resolve);
          }),
        );
        clients.push(client);
      }),
    );
  }
  return clients;
}

export async function run({ root, log }) {
  const require = createRequire(join(root, 'package.json'));
  // The sshd harness only (the testing entry point loads vitest).
  const testing = require(join(root, 'libs/testing/dist/sshd-server.js'));
  const ssh2 = require('ssh2');
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-ssh-'));
  const target = await testing.startSshd();
  const jump = await testing.startSshd();
  const big = join(target.user.home, 'bench-1gib.bin');
  execFileSync('truncate', ['-s', String(BYTES), big]);
  const stack = await tollgateStack(root, testing, target, dir).catch((error) => {
    // A stack that did not come up leaves nothing running behind it.
    for (const child of spawned.splice(0)) child.kill('SIGKILL');
    target.stop();
    jump.stop();
    throw error;
  });
  const config = join(dir, 'ssh_config');
  writeFileSync(
    config,
    [
      'Host jump',
      '  HostName 127.0.0.1',
      `  Port ${jump.port}`,
      `  User ${jump.user.name}`,
      `  IdentityFile ${join(jump.dir, 'user_key')}`,
      'Host target',
      '  HostName 127.0.0.1',
      `  Port ${target.port}`,
      `  User ${target.user.name}`,
      `  IdentityFile ${join(target.dir, 'user_key')}`,
      'Host *',
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '  IdentityAgent none',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const keyOptions = ['-F', config, '-o', 'BatchMode=yes'];
  const password = { SSHPASS: stack.token };
  const paths = {
    direct: { program: 'ssh', args: [...keyOptions, 'target'], env: {} },
    'OpenSSH ProxyJump': { program: 'ssh', args: [...keyOptions, '-J', 'jump', 'target'], env: {} },
    'tollgate connect': {
      program: 'ssh',
      args: [...BASE_OPTIONS, '-o', 'BatchMode=yes', '-p', String(stack.connectPort), 'me@127.0.0.1'],
      env: {},
    },
    'gateway listener': {
      program: 'sshpass',
      args: [
        '-e',
        'ssh',
        ...BASE_OPTIONS,
        '-o',
        'PreferredAuthentications=password',
        '-p',
        String(stack.sshPort),
        'bench-ssh@127.0.0.1',
      ],
      env: password,
    },
  };
  if (IDLE_ONLY) for (const name of Object.keys(paths)) delete paths[name];
  if (ONLY) {
    for (const name of Object.keys(paths)) {
      if (name !== 'direct' && !ONLY.some((word) => name.includes(word))) delete paths[name];
    }
  }
  const pids = {
    gateway: stack.gw.child.pid,
    agent: stack.agent.child.pid,
    connect: stack.connect.child.pid,
  };
  const results = {};
  let idleRate = {};
  try {
    for (const [name, path] of Object.entries(paths)) {
      const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
      const run = await runSsh([...path.args, `cat ${big}`], path.env, path.program).catch((error) => {
        // What Tollgate's processes said is what tells why a path failed.
        const tails = ['gw', 'agent', 'connect']
          .map((k) => `--- ${k}:\n${stack[k].output().slice(-3000)}`)
          .join('\n');
        throw new Error(`${name}: ${error.message}\n${tails}`);
      });
      if (run.received !== BYTES) throw new Error(`${name}: received ${run.received} of ${BYTES}`);
      const spent = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid) - before[k]]));
      // The direct path runs first and passes no Tollgate process: what they spend meanwhile is
      // their idle rate (timers, the store's background work), taken out of the other paths' figures.
      if (name === 'direct') {
        idleRate = Object.fromEntries(Object.entries(spent).map(([k, ms]) => [k, ms / run.seconds]));
      }
      const cpu = Object.fromEntries(
        Object.entries(spent).map(([k, ms]) => [
          k,
          name === 'direct'
            ? ms / (BYTES / MiB)
            : Math.max(0, ms - idleRate[k] * run.seconds) / (BYTES / MiB),
        ]),
      );
      const mibps = BYTES / MiB / run.seconds;
      log(
        `${name}: ${mibps.toFixed(1)} MiB/s (${run.seconds.toFixed(1)} s); CPU ms per MiB: ` +
          Object.entries(cpu)
            .map(([k, v]) => `${k} ${v.toFixed(2)}`)
            .join(', '),
      );
      const echoArgs =
        path.program === 'sshpass' ? ['-e', 'ssh', '-tt', ...path.args.slice(2)] : ['-tt', ...path.args];
      const echo = await echoLatency(echoArgs, path.env, path.program);
      log(
        `${name}: keystroke echo p50 ${(echo.p50 / 1000).toFixed(2)} ms, p99 ${(echo.p99 / 1000).toFixed(2)} ms`,
      );
      results[name] = { mibps, cpu, echo };
      if (name === 'direct') results.idleRate = idleRate;
    }

    // Memory per idle session at the gateway (listener path: the gateway holds both SSH hops), on a
    // settled gateway: warm-up sessions opened and closed first, a full collection before each reading.
    const heap = async () => {
      // BENCH_SSH_HEAP=1 with NODE_OPTIONS=--heapsnapshot-signal=SIGUSR2: a heap snapshot of the
      // gateway before and after the idle sessions (in its working directory), to see what they hold.
      if (!process.env.BENCH_SSH_HEAP) return;
      process.kill(stack.gw.child.pid, 'SIGUSR2');
      await new Promise((r) => setTimeout(r, 30_000));
    };
    // BENCH_SSH_SMAPS=DIR: the gateway's /proc/PID/smaps before and after, to see which mappings grew.
    const smaps = (name) => {
      if (!process.env.BENCH_SSH_SMAPS) return;
      const text = readFileSync(`/proc/${stack.gw.child.pid}/smaps`, 'utf8');
      writeFileSync(join(process.env.BENCH_SSH_SMAPS, `smaps-${name}.txt`), text);
    };
    const gwInspector = await inspector(stack.inspectorUrl);
    const reading = async (name) => {
      await new Promise((r) => setTimeout(r, 5000));
      const memory = await gwInspector.settledMemory();
      const malloc = await mallocInUse(stack.gw);
      smaps(name);
      // Sessions the gateway's SSH listener holds (its established connections), to see that none ended.
      const open = execFileSync('ss', ['-Htn', 'state', 'established', `( sport = :${stack.sshPort} )`], {
        encoding: 'utf8',
      })
        .split('\n')
        .filter(Boolean).length;
      return { ...memory, malloc: malloc?.total, mallocMain: malloc?.main, open };
    };
    const clients = [];
    try {
      for (const c of await idleSessions(ssh2, stack.sshPort, stack.token, IDLE_WARMUP)) c.end();
      await new Promise((r) => setTimeout(r, 5000));
      // Readings with none, half and all of the sessions open. Per session is the growth from half
      // to all: what one more idle session costs, clear of what the first ones still bring along
      // (allocator arenas and the heap settling after start-up and the warm-up's teardown).
      // After the transfers, the gateway frees what they left (recordings, stream buffers) over a
      // while: the first reading waits until the main thread's malloc has stopped moving (within 1
      // MiB over 5 s; at most 3 minutes), so that release is not taken for the sessions' cost.
      let none = await reading('none');
      for (let i = 0; i < 36 && none.mallocMain !== undefined; i++) {
        const next = await reading('none');
        const settled = Math.abs(next.mallocMain - none.mallocMain) < MiB;
        none = next;
        if (settled) break;
      }
      await heap();
      const half = Math.floor(IDLE / 2);
      const started = performance.now();
      clients.push(...(await idleSessions(ssh2, stack.sshPort, stack.token, half)));
      const halfway = await reading('half');
      clients.push(...(await idleSessions(ssh2, stack.sshPort, stack.token, IDLE - half)));
      const openSeconds = (performance.now() - started) / 1000;
      const all = await reading('all');
      await heap();
      const per = (key, from = halfway, count = IDLE - half) =>
        all[key] === undefined || from[key] === undefined ? undefined : (all[key] - from[key]) / count;
      const hasMalloc = all.malloc !== undefined && halfway.malloc !== undefined;
      results.idle = {
        heapPerSession: per('heapUsed'),
        externalPerSession: per('external'),
        mallocPerSession: per('malloc'),
        mallocMainPerSession: per('mallocMain'),
        rssPerSession: per('rss'),
        rssFromNonePerSession: per('rss', none, IDLE),
        // The main thread's arena: the store's worker and V8's threads allocate in others, and their
        // churn moves the process's total by more than the sessions do.
        perSession: hasMalloc ? per('heapUsed') + per('mallocMain') : per('rss'),
        readings: { none, halfway, all },
      };
      const mib = (v) => (v === undefined ? '-' : (v / MiB).toFixed(1));
      const kib = (v) => (v === undefined ? '-' : (v / KiB).toFixed(0));
      const line = (label, key) =>
        `${label} ${mib(none[key])} / ${mib(halfway[key])} / ${mib(all[key])} MiB (${kib(per(key))} KiB per session)`;
      log(
        `gateway with 0 / ${half} / ${IDLE} idle SSH sessions (opened in ${openSeconds.toFixed(0)} s, after ${IDLE_WARMUP} warm-up ones): ` +
          [
            line('JS heap used', 'heapUsed'),
            line('external', 'external'),
            hasMalloc ? line('malloc in use', 'malloc') : 'malloc in use not read (no gdb)',
            hasMalloc ? line("of it the main thread's arena and mmapped", 'mallocMain') : '',
            line('RSS', 'rss'),
            `listener connections ${none.open} / ${halfway.open} / ${all.open}`,
          ]
            .filter(Boolean)
            .join(', ') +
          `; JS heap + main-thread malloc per session ${kib(results.idle.perSession)} KiB`,
      );
    } finally {
      for (const c of clients) c.end();
      gwInspector.close();
    }
  } finally {
    await stack.stop();
    target.stop();
    jump.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  if (ONLY || IDLE_ONLY) return `(BENCH_SSH_PATHS / BENCH_SSH_IDLE_ONLY: partial run, no table)`;
  const jumpRate = results['OpenSSH ProxyJump'].mibps;
  const directEcho = results.direct.echo.p50 / 1000;
  const rows = Object.entries(results)
    .filter(([k]) => k !== 'idle' && k !== 'idleRate')
    .map(([name, r]) => [
      name,
      `${r.mibps.toFixed(1)} MiB/s`,
      `${(r.mibps / jumpRate).toFixed(2)}x`,
      `${(r.echo.p50 / 1000).toFixed(2)} ms`,
      `${r.echo.p50 / 1000 - directEcho >= 0 ? '+' : ''}${(r.echo.p50 / 1000 - directEcho).toFixed(2)} ms`,
      name.startsWith('tollgate') || name.startsWith('gateway')
        ? Object.entries(r.cpu)
            .filter(([, v]) => v > 0.005)
            .map(([k, v]) => `${k} ${v.toFixed(2)}`)
            .join(', ')
        : '-',
    ]);
  const idle = results.idle;
  const kib = (v) => (v === undefined ? '-' : (v / KiB).toFixed(0));
  const perSessionKiB = idle.perSession / KiB;
  const idleNote = Object.entries(results.idleRate)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ');
  return [
    '## SSH (`bench/suites/ssh.mjs`)',
    '',
    `${(BYTES / GiB).toFixed(2)} GiB downloaded with OpenSSH's \`ssh host cat FILE\` (a sparse file on the target) on each path, one run; keystroke echo: a letter or Backspace typed into a PTY bash (\`ssh -tt\`), ${KEYS} keys, time until its echo arrives. Tollgate paths record the exec as asciicast (up to the 64 MiB recording limit, then the stream runs on unrecorded) and the shell input is read line by line.`,
    '',
    table(
      ['path', 'throughput', 'vs ProxyJump', 'echo p50', 'echo vs direct', 'Tollgate CPU ms per MiB'],
      rows,
    ),
    '',
    `Tollgate CPU is per process from /proc, per MiB transferred, net of what each process spends idle (measured while the direct path ran, in ms of CPU per second: ${idleNote}).`,
    '',
    `Gateway memory per idle SSH session through the listener: **${perSessionKiB.toFixed(0)} KiB** (goal ≤ 200 KiB): JS heap used ${kib(idle.heapPerSession)} KiB + malloc in use on the main thread ${kib(idle.mallocMainPerSession)} KiB (its arena and mmapped blocks: Buffers' memory, ${kib(idle.externalPerSession)} KiB by V8's external count, and native state: OpenSSL, HTTP/2 streams, sockets). Measured as the growth from ${Math.floor(IDLE / 2)} to ${IDLE} sessions (each an authenticated connection with \`cat\` running; ${IDLE_WARMUP} warm-up sessions opened and closed first), each reading after two full garbage collections through the gateway's inspector, malloc's figures from glibc's malloc_stats() through gdb. The whole process's malloc moved ${kib(idle.mallocPerSession)} KiB per session (other threads' arenas: the store's worker, V8's compiler and GC threads), RSS ${kib(idle.rssPerSession)} KiB (${kib(idle.rssFromNonePerSession)} KiB from none): V8 and malloc keep freed pages and reuse them first, so RSS follows the heap's and the allocator's history more than the sessions.`,
    '',
    `Goals: ≥ 0.5x ProxyJump throughput (tollgate connect ${(results['tollgate connect'].mibps / jumpRate).toFixed(2)}x, gateway listener ${(results['gateway listener'].mibps / jumpRate).toFixed(2)}x); echo adds ≤ 2 ms p50 (connect +${(results['tollgate connect'].echo.p50 / 1000 - directEcho).toFixed(2)} ms, listener +${(results['gateway listener'].echo.p50 / 1000 - directEcho).toFixed(2)} ms).`,
  ].join('\n');
}
