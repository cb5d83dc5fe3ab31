// The data path: `tollgate connect` (tcp) → gateway → agent → target, against a direct connection
// and a socat relay on the same machine. 1 GiB throughput, 64-byte ping-pong round trips, sessions
// opened per second, and RSS with 1,000 idle sessions. Everything runs on 127.0.0.1; the target
// servers and clients run in this process, Tollgate's three processes are real `tollgate` commands.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { cpus } from 'node:os';
import { cpuMs, nodeRelays, startTollgateStack, summarize, table } from '../lib.mjs';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const BYTES = Number(process.env.BENCH_TUNNEL_BYTES ?? GiB);
const PINGS = Number(process.env.BENCH_TUNNEL_PINGS ?? 5000);
const SESSIONS = Number(process.env.BENCH_TUNNEL_SESSIONS ?? 1000);
const IDLE = Number(process.env.BENCH_TUNNEL_IDLE ?? 1000);
const ROUNDS = Number(process.env.BENCH_TUNNEL_ROUNDS ?? 3);

const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

function dial(port) {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port, noDelay: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

// The 1 GiB source and the reader each run in a process of their own (the reader a fresh one per
// download), so every path is measured under the same conditions: a reader sharing this process
// with the harness ran at whatever speed the harness's own heap allowed after the earlier paths.
const SOURCE = `
const net = require('node:net');
const bytes = Number(process.argv[1]);
const chunk = Buffer.alloc(256 * 1024, 0x5a);
const server = net.createServer((socket) => {
  socket.on('error', () => {});
  let sent = 0;
  const pump = () => {
    while (sent < bytes) {
      sent += chunk.length;
      if (!socket.write(chunk)) return void socket.once('drain', pump);
    }
    socket.end();
  };
  pump();
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

const READER = `
const net = require('node:net');
const started = performance.now();
const socket = net.connect({ host: '127.0.0.1', port: Number(process.argv[1]), noDelay: true });
let received = 0;
socket.on('data', (data) => (received += data.length));
socket.on('end', () => {
  console.log(JSON.stringify({ received, seconds: (performance.now() - started) / 1000 }));
  socket.destroy();
});
socket.on('error', (error) => {
  console.log(JSON.stringify({ error: error.message }));
  process.exit(1);
});
`;

async function targets() {
  const sourceChild = spawn(process.execPath, ['-e', SOURCE, String(BYTES)], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const sourcePort = await new Promise((resolve) =>
    sourceChild.stdout.once('data', (d) => resolve(Number(String(d).trim()))),
  );
  const echo = createServer((socket) => {
    socket.on('error', () => {});
    socket.setNoDelay(true);
    socket.pipe(socket);
  });
  return { sourceChild, echo, sourcePort, echoPort: await listen(echo) };
}

function socat(toPort) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const port = probe.address().port;
      probe.close(() => {
        const child = spawn(
          'socat',
          [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `TCP:127.0.0.1:${toPort},nodelay`],
          {
            stdio: 'ignore',
          },
        );
        setTimeout(() => resolve({ port, child }), 300);
      });
    });
  });
}

async function download(port) {
  const reader = spawn(process.execPath, ['-e', READER, String(port)], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  reader.stdout.on('data', (d) => (out += d));
  await new Promise((resolve) => reader.once('exit', resolve));
  const result = JSON.parse(out.trim() || '{"error":"no output"}');
  if (result.error) throw new Error(`download failed: ${result.error}`);
  if (result.received !== BYTES) throw new Error(`received ${result.received} of ${BYTES} bytes`);
  return BYTES / MiB / result.seconds;
}

async function pingPong(port) {
  const socket = await dial(port);
  const message = Buffer.alloc(64, 0x42);
  const samples = [];
  let pending = 0;
  let resolveOne;
  socket.on('data', (data) => {
    pending -= data.length;
    if (pending <= 0) resolveOne();
  });
  for (let i = 0; i < PINGS + 200; i++) {
    const started = performance.now();
    pending = 64;
    await new Promise((resolve) => {
      resolveOne = resolve;
      socket.write(message);
    });
    if (i >= 200) samples.push((performance.now() - started) * 1000);
  }
  socket.destroy();
  return summarize(samples);
}

async function sessionsPerSecond(port, concurrency = 8) {
  let next = 0;
  const one = async () => {
    const socket = await dial(port);
    await new Promise((resolve, reject) => {
      socket.once('data', resolve);
      socket.once('error', reject);
      socket.write('x');
    });
    socket.destroy();
  };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < SESSIONS) await one();
    }),
  );
  return SESSIONS / ((performance.now() - started) / 1000);
}

// RSS can shrink while the idle sessions open (a GC of what the throughput rounds left behind).
const signedMiB = (bytes) => `${bytes < 0 ? '−' : '+'}${(Math.abs(bytes) / MiB).toFixed(0)} MiB`;

const rss = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

/** The Tollgate stack with one tcp connection per target port. */
const tollgateStack = (root, ports) =>
  startTollgateStack(
    root,
    Object.fromEntries(
      Object.entries(ports).map(([name, port]) => [
        name,
        { protocol: 'tcp', target: { host: '127.0.0.1', port } },
      ]),
    ),
  );

export async function run({ root, log }) {
  const t = await targets();
  const stack = await tollgateStack(root, { source: t.sourcePort, echo: t.echoPort });
  const socatSource = await socat(t.sourcePort);
  const socatEcho = await socat(t.echoPort);
  const relaySource = await nodeRelays(t.sourcePort);
  const relayEcho = await nodeRelays(t.echoPort);
  const paths = {
    direct: { source: t.sourcePort, echo: t.echoPort },
    socat: { source: socatSource.port, echo: socatEcho.port },
    '3 plain Node relays': { source: relaySource.port, echo: relayEcho.port },
    'tollgate connect': { source: stack.connects.source.port, echo: stack.connects.echo.port },
  };
  const results = {};
  try {
    // Best of ROUNDS, the paths interleaved, so a burst of load from elsewhere on the machine does
    // not land on one path only.
    const tollgatePids = {
      gateway: stack.gw.child.pid,
      agent: stack.agent.child.pid,
      connect: stack.connects.source.cli.child.pid,
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, ports] of Object.entries(paths)) {
        const cpuBefore = name === 'tollgate connect' ? cpuMs(tollgatePids) : undefined;
        const mbps = await download(ports.source);
        if (cpuBefore) {
          // CPU time each process spent per GiB downloaded (user + system, from /proc): unlike
          // wall-clock throughput, it hardly depends on what else the machine is running.
          const after = cpuMs(tollgatePids);
          const perGiB = Object.fromEntries(
            Object.keys(after).map((k) => [k, (after[k] - cpuBefore[k]) / (BYTES / GiB)]),
          );
          const total = Object.values(perGiB).reduce((a, b) => a + b, 0);
          if (!results.cpu || total < results.cpu.total) results.cpu = { perGiB, total };
          log(
            `tollgate connect (round ${round + 1}): CPU per GiB downloaded: ` +
              Object.entries(perGiB)
                .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
                .join(', '),
          );
        }
        const rtt = await pingPong(ports.echo);
        const sps = await sessionsPerSecond(ports.echo);
        log(
          `${name} (round ${round + 1}): ${mbps.toFixed(0)} MiB/s; 64-byte RTT p50 ${rtt.p50.toFixed(0)} µs, p99 ${rtt.p99.toFixed(0)} µs; ${sps.toFixed(0)} sessions/s`,
        );
        const best = results[name];
        results[name] = best
          ? {
              mbps: Math.max(best.mbps, mbps),
              rtt: rtt.p50 < best.rtt.p50 ? rtt : best.rtt,
              sps: Math.max(best.sps, sps),
            }
          : { mbps, rtt, sps };
      }
    }

    const pids = {
      gateway: stack.gw.child.pid,
      agent: stack.agent.child.pid,
      connect: stack.connects.echo.cli.child.pid,
    };
    // Settle first, as after opening the sessions: the throughput rounds leave garbage that a GC
    // during the idle phase would otherwise subtract from the sessions' cost.
    await new Promise((r) => setTimeout(r, 2000));
    const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, rss(pid)]));
    const idle = [];
    for (let i = 0; i < IDLE; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, IDLE - i) }, async () => {
          const socket = await dial(stack.connects.echo.port);
          await new Promise((resolve) => {
            socket.once('data', resolve);
            socket.write('x');
          });
          idle.push(socket);
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 2000));
    const after = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, rss(pid)]));
    for (const socket of idle) socket.destroy();
    results.idle = { before, after };
    log(
      `${IDLE} idle sessions: ` +
        Object.keys(pids)
          .map((k) => `${k} ${signedMiB(after[k] - before[k])} (${(after[k] / MiB).toFixed(0)} MiB)`)
          .join(', '),
    );
  } finally {
    socatSource.child.kill();
    socatEcho.child.kill();
    relaySource.stop();
    relayEcho.stop();
    await stack.stop();
    t.sourceChild.kill();
    t.echo.close();
  }

  const d = results.direct;
  const s = results.socat;
  const g = results['tollgate connect'];
  const us = (v) => `${v.toFixed(0)} µs`;
  const rows = ['direct', 'socat', '3 plain Node relays', 'tollgate connect'].map((name) => {
    const r = results[name];
    return [
      name,
      `${r.mbps.toFixed(0)} MiB/s`,
      us(r.rtt.p50),
      us(r.rtt.p99),
      us(r.rtt.p50 - d.rtt.p50),
      `${r.sps.toFixed(0)}`,
    ];
  });
  const socatAdded = s.rtt.p50 - d.rtt.p50;
  const ourAdded = g.rtt.p50 - d.rtt.p50;
  const relayAdded = results['3 plain Node relays'].rtt.p50 - d.rtt.p50;
  const idleRows = Object.keys(results.idle.before).map((k) => [
    k,
    `${(results.idle.before[k] / MiB).toFixed(0)} MiB`,
    `${(results.idle.after[k] / MiB).toFixed(0)} MiB`,
    signedMiB(results.idle.after[k] - results.idle.before[k]),
  ]);
  const gwExtra = (results.idle.after.gateway - results.idle.before.gateway) / MiB;
  return [
    '## Tunnel: tcp through `tollgate connect` → gateway → agent',
    '',
    `${(BYTES / GiB).toFixed(2)} GiB downloaded from a target (one session); ${PINGS} round trips of 64 bytes on one session; ` +
      `${SESSIONS} sessions opened (connect, 1-byte echo, close) by 8 concurrent clients; best of ${ROUNDS} rounds, paths ` +
      'interleaved. All three Tollgate processes, the socat relay and the benchmark clients share the machine. ' +
      'Gateway on the embedded store; each session open is authorized and audited durably before the agent dials.',
    '',
    table(['path', 'throughput', 'RTT p50', 'RTT p99', 'added p50', 'sessions/s'], rows),
    '',
    `Goals: throughput ≥ 0.5× socat's — **${(g.mbps / s.mbps).toFixed(2)}×**; added p50 round trip ≤ 3× socat's added — ` +
      `**${(ourAdded / Math.max(socatAdded, 1)).toFixed(1)}×** (${us(ourAdded)} vs ${us(socatAdded)}). ` +
      `For scale, three plain Node TCP relays in series (no gRPC, no HTTP/2; the floor of any design with ` +
      `three Node processes on the path) add ${us(relayAdded)}.`,
    '',
    `CPU time per GiB downloaded through Tollgate (lowest-total round): ` +
      Object.entries(results.cpu.perGiB)
        .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
        .join(', ') +
      ` — ${results.cpu.total.toFixed(0)} ms in all, on a ${cpus().length}-core machine that also runs the benchmark's own ` +
      'source and sink.',
    '',
    `RSS with ${IDLE} idle open sessions (one \`tollgate connect\`, one agent):`,
    '',
    table(['process', 'before', 'with idle sessions', 'extra'], idleRows),
    '',
    `Goal: ≤ 200 MiB extra in the gateway — **${gwExtra.toFixed(0)} MiB**.`,
  ].join('\n');
}
