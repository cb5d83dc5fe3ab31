#!/usr/bin/env node
// CI's quickstart smoke test: runs the README's `npm start` as a new user would (a fresh HOME, so a
// fresh data directory), waits for the banner, checks that the whole banner (where it listens, who
// can log in, the next command) is within the first 20 lines of output and that the log went to the
// data directory instead, asks /healthz, then stops it as Ctrl-C would.
// Free ports are chosen through the environment (TOLLGATE_*_PORT=0) so it never collides with a
// gateway already running on the machine. Exits 1 naming what went wrong.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const START_TIMEOUT_MS = 180_000;
const BANNER_WITHIN_LINES = 20;
const STOP_TIMEOUT_MS = 30_000;

const home = mkdtempSync(join(tmpdir(), 'tollgate-smoke-'));
const child = spawn('npm', ['start'], {
  cwd: new URL('..', import.meta.url),
  env: {
    ...process.env,
    HOME: home,
    TOLLGATE_HTTP_PORT: '0',
    TOLLGATE_GRPC_PORT: '0',
    TOLLGATE_DEV_IDP_PORT: '0',
    TOLLGATE_POSTGRES_PORT: '0',
    TOLLGATE_MYSQL_PORT: '0',
    TOLLGATE_SSH_PORT: '0',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
  // Its own process group, so the stop reaches npm, the shell and the gateway as a terminal's would.
  detached: true,
});

let output = '';
const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
child.stdout.on('data', (chunk) => (output += chunk));
child.stderr.on('data', (chunk) => (output += chunk));

function fail(message) {
  process.stderr.write(`quickstart smoke test failed: ${message}\n--- output ---\n${output}\n`);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  rmSync(home, { recursive: true, force: true });
  process.exit(1);
}

async function waitForBanner() {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const match = output.match(/API\s+(http:\/\/\S+)\/api\/v1[^]*Press Ctrl-C to stop/);
    if (match) return match[1];
    if (child.exitCode !== null || child.signalCode !== null) fail('`npm start` exited before its banner');
    if (Date.now() > deadline) fail(`no banner within ${START_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const httpUrl = await waitForBanner();
const lines = output.split('\n');
const bannerLine = lines.findIndex((line) => line.includes('Tollgate is running'));
const bannerEnd = lines.findIndex((line) => line.includes('Press Ctrl-C to stop'));
if (bannerLine < 0) fail('no banner');
if (bannerEnd + 1 > BANNER_WITHIN_LINES) {
  fail(`the banner ends on line ${bannerEnd + 1}, not within the first ${BANNER_WITHIN_LINES} lines`);
}
for (const expected of ['console ', 'log in ', 'tollgate login', 'tollgate ls', 'ssh -p ']) {
  if (!lines.slice(bannerLine, bannerEnd).some((line) => line.includes(expected))) {
    fail(`the banner does not show "${expected.trim()}"`);
  }
}

const health = await fetch(`${httpUrl}/healthz`).then(
  async (response) => ({ status: response.status, body: await response.text() }),
  (error) => fail(`${httpUrl}/healthz: ${error.cause?.message ?? error.message}`),
);
if (health.status !== 200) fail(`${httpUrl}/healthz answered ${health.status}: ${health.body}`);

// The log is written by a worker thread: give it a moment to reach the file.
const logFile = join(home, '.tollgate', 'data', 'gateway.log');
const logDeadline = Date.now() + 10_000;
while (!readFileSync(logFile, 'utf8').includes('"msg":"gateway listening"')) {
  if (Date.now() > logDeadline) fail(`${logFile} does not have the start-up log`);
  await new Promise((resolve) => setTimeout(resolve, 100));
}

process.kill(-child.pid, 'SIGINT');
const stopped = await Promise.race([
  exited,
  new Promise((resolve) => setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS)),
]);
if (stopped === 'timeout') fail(`still running ${STOP_TIMEOUT_MS / 1000} s after Ctrl-C`);
rmSync(home, { recursive: true, force: true });
process.stdout.write(
  `quickstart smoke test passed on Node.js ${process.version}: banner on lines ${bannerLine + 1}-${bannerEnd + 1}, log in ${logFile}, ${httpUrl}/healthz ${health.status}, stopped by Ctrl-C (${stopped})\n`,
);
