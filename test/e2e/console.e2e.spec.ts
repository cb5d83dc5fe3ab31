import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  launchChromium,
  loginDevUser,
  makeTempDir,
  seedEmbeddedStore,
  MACHINE_POSTGRES,
  repoRoot,
  runSshClient,
  spawnCli,
  shows,
  spawnConnect,
  sshClientOptions,
  startSshd,
  type CliProcess,
} from '@tollgate/testing';

const POLICY = `version: 1
metadata:
  name: console-e2e
roles:
  - name: admins
    subjects: ["group:tollgate-admins"]
    connections: ["*"]
    verbs: [connect, exec, admin, "audit:read", review]
  - name: dba
    subjects: ["group:dba"]
    connections: ["*"]
    verbs: [connect, exec, review]
  - name: developers
    subjects: ["group:developers"]
    connections: ["tag:env=dev"]
    verbs: [connect, exec]
guardrails:
  - name: no-drop-in-prod
    match: { connections: ["tag:env=prod"], protocol: [postgres] }
    deny: { statements: [DROP, TRUNCATE], message: "DROP and TRUNCATE are not allowed in production" }
masking:
  - name: pii
    match: { connections: ["tag:pii=true"] }
    detectors: [email]
access_requests:
  - name: prod-exec
    requesters: ["group:developers"]
    connections: ["tag:env=prod"]
    verbs: [connect, exec]
    reviewers: ["group:dba"]
    max_duration: 4h
delegation: { max_depth: 2 }
`;
/** The same document with a verb that does not exist, on line 8. */
const POLICY_WITH_ERROR = POLICY.replace(
  'verbs: [connect, exec, admin, "audit:read", review]',
  'verbs: [connect, exec, admin, "audit:read", review, sudo]',
);

/** Set (e.g. `npm run screenshots`) to write the README's screenshots into this directory. */
const SCREENSHOTS = process.env['TOLLGATE_SCREENSHOTS'];
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/**
 * The web console as its users meet it: `tollgate start` (gateway, dev IdP, local agent), real
 * Chromium, real PostgreSQL, a real agent process started with the command the console prints, and
 * real psql through `tollgate connect`. One stack for the whole file; each test goes on from the
 * state the previous one left, as a user would.
 */
describe('web console (quickstart, Chromium)', () => {
  const dir = makeTempDir('tollgate-console-e2e-');
  const processes: CliProcess[] = [];
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let httpUrl: string;
  let grpcUrl: string;
  let browser: Browser;
  let admin: Page;
  const contexts: BrowserContext[] = [];
  /** Every page error and CSP violation seen in any page. */
  const browserProblems: string[] = [];

  const newPage = async (viewport = LAPTOP): Promise<Page> => {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => browserProblems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) browserProblems.push(message.text());
    });
    return page;
  };
  /** Signs in through the dev IdP's own login form, as a person would. */
  const signIn = async (page: Page, user: string, path = '/') => {
    await page.goto(`${httpUrl}${path}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('User').fill(user);
    await page.getByLabel('Password').fill(`${user}-demo`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${httpUrl}${path}`);
    await expect.poll(() => page.locator('nav[aria-label="Main"]').count()).toBe(1);
  };
  const go = async (page: Page, label: string) => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: label, exact: true })
      .click();
    await page.getByRole('heading', { level: 1, name: label }).waitFor();
  };
  const axeSource = readFileSync(
    createRequire(join(repoRoot(), 'package.json')).resolve('axe-core/axe.min.js'),
    'utf8',
  );
  /** axe-core's WCAG 2.1 A/AA rules: no serious or critical violation. */
  const expectAccessible = async (page: Page, what: string) => {
    // Evaluated through the DevTools protocol, so the console's CSP (script-src 'self') is untouched.
    await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const axe = (
        globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: AxeViolation[] }> } }
      ).axe;
      const result = await axe.run({
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      });
      return result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map(
          (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
        );
    });
    expect(violations, what).toEqual([]);
  };
  const shot = async (page: Page, name: string) => {
    if (!SCREENSHOTS) return;
    const out = resolve(repoRoot(), SCREENSHOTS);
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, `console-${name}.png`), fullPage: false });
  };
  const sql = async <T>(fn: (client: Client) => Promise<T>): Promise<T> => {
    const client = new Client({ ...MACHINE_POSTGRES, database: db.name });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    await sql((c) =>
      c.query(`create table customers (id serial primary key, name text not null, email text not null);
               insert into customers (name, email) values
                 ('Ada', 'ada@example.com'), ('Grace', 'grace@example.org'), ('Linus', 'linus@example.net');`),
    );
    const start = spawnCli(
      [
        'start',
        '--data-dir',
        seedEmbeddedStore(join(dir.path, 'data')),
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
      ],
      { TOLLGATE_LOG_LEVEL: 'warn', TOLLGATE_TOKEN: undefined },
    );
    processes.push(start);
    httpUrl = (await start.waitFor(/API\s+(http:\/\/\S+)\/api\/v1/))[1]!;
    grpcUrl = `http://${(await start.waitFor(/gRPC\s+(\S+)/))[1]}`;
    await start.waitFor(/dev IdP\s+http/);
    browser = await launchChromium();
    admin = await newPage();
  });
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await db?.drop();
    dir.remove();
  });

  it('an admin signs in through the dev IdP, registers an agent that comes online and a connection it reaches', async () => {
    await signIn(admin, 'admin');
    await expect.poll(() => admin.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
    await expectAccessible(admin, 'overview');

    await go(admin, 'Agents');
    await admin.getByLabel('Agent name').fill('edge-1');
    await admin.getByRole('button', { name: 'Create agent' }).click();
    const token = (await admin.getByTestId('agent-token').textContent())!.trim();
    const command = (await admin.getByTestId('agent-command').textContent())!.trim();
    expect(token).toMatch(/^tga_/);
    expect(command).toBe(`TOLLGATE_AGENT_TOKEN=${token} tollgate agent --gateway ${grpcUrl}`);
    await expectAccessible(admin, 'agents with a new token');
    // Run exactly what the console says.
    const [, envToken, gatewayUrl] = /^TOLLGATE_AGENT_TOKEN=(\S+) tollgate agent --gateway (\S+)$/.exec(
      command,
    )!;
    const agent = spawnCli(['agent', '--gateway', gatewayUrl, '--log-format', 'json'], {
      TOLLGATE_AGENT_TOKEN: envToken,
    });
    processes.push(agent);
    await agent.waitFor(/"msg":"bundle applied"/);
    await admin.getByRole('button', { name: 'I have saved the token' }).click();
    await shows(admin.getByTestId('agent-token')).count(0);
    const row = admin.getByRole('row', { name: /edge-1/ });
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toMatch(/online/);

    await go(admin, 'Connections');
    await admin.getByRole('button', { name: 'New connection' }).click();
    await admin.getByLabel('Name', { exact: true }).fill('pg-app');
    await shows(admin.getByLabel('Protocol')).value('postgres');
    await admin.getByLabel('Host').fill('127.0.0.1');
    await admin.getByLabel('Port').fill('5432');
    await admin.getByLabel('Database').fill(db.name);
    await admin.getByLabel('User name at the target').fill('postgres');
    // The form warns about the default that bites a local database, before anything is saved.
    await shows(admin.getByText(/verify-full will fail/)).visible();
    await admin.getByLabel('TLS to the target').selectOption('disable');
    await admin.getByLabel('Tags').fill('env=prod, pii=true');
    await admin.getByLabel('edge-1 (online)').check();
    // A mistake first: the gateway's answer is shown at the field.
    await admin.getByLabel('Port').fill('70000');
    await admin.getByRole('button', { name: 'Create connection' }).click();
    await shows(admin.locator('.field-error').first()).containsText(/65535/);
    await admin.getByLabel('Port').fill('5432');
    await admin.getByRole('button', { name: 'Create connection' }).click();
    await admin.waitForURL(`${httpUrl}/connections/pg-app?created=1`);
    await shows(admin.getByText('Connection created.')).visible();

    await admin.getByRole('button', { name: 'Test reachability' }).click();
    await shows(admin.getByText(/^Reachable/)).visible({ timeout: 20_000 });
    await shows(admin.getByRole('status').filter({ hasText: 'Reachable' })).containsText(
      /agent edge-1 logged in to the target \(PostgreSQL 1\d/,
    );
    const reach = admin.getByRole('region', { name: /People and service accounts/ });
    await shows(reach.getByRole('row', { name: /admin@tollgate\.test/ })).containsText('connect, exec');
    await expectAccessible(admin, 'connection');
    await shot(admin, 'connection');
  });

  it('an admin registers an in-cluster Kubernetes connection: no API server to type, the list says where it goes', async () => {
    await go(admin, 'Connections');
    await admin.getByRole('button', { name: 'New connection' }).click();
    await admin.getByLabel('Name', { exact: true }).fill('k8s-here');
    await admin.getByLabel('Protocol').selectOption('kubernetes');
    await shows(admin.getByLabel('API server URL')).visible();
    await admin.getByLabel(/^In-cluster/).check();
    await shows(admin.getByLabel('API server URL')).count(0);
    await admin.getByRole('button', { name: 'Create connection' }).click();
    await admin.waitForURL(`${httpUrl}/connections/k8s-here?created=1`);
    await go(admin, 'Connections');
    await shows(admin.getByRole('row', { name: /k8s-here/ })).containsText('in-cluster (the agent’s pod)');
  });

  it('the admin edits the policy: a bad verb is marked at its line, then the fixed document is reviewed and applied', async () => {
    await go(admin, 'Policy');
    const editor = admin.getByLabel('Policy document (YAML)');
    await editor.fill(POLICY_WITH_ERROR);
    const problem = admin.getByRole('list', { name: 'Problems in the document' }).getByRole('listitem');
    await shows(problem).count(1);
    await shows(problem).containsText(/Line 8, column \d+: roles\[0\]\.verbs\[5\]/);
    await shows(admin.locator('.gutter-error')).hasText('8');
    await shows(admin.locator('.inline-diagnostic')).containsText('roles[0].verbs[5]');
    await shows(admin.getByRole('button', { name: 'Review changes (dry run)' })).disabled();
    // The problem's button takes the cursor to it.
    await problem.getByRole('button').click();
    const caret = await editor.evaluate(
      (el: { value: string; selectionStart: number }) =>
        el.value.slice(0, el.selectionStart).split('\n').length,
    );
    expect(caret).toBe(8);
    await expectAccessible(admin, 'policy with a validation error');
    await shot(admin, 'policy-error');

    await editor.fill(POLICY);
    await shows(admin.getByText('The document is valid.')).visible();
    await admin.getByRole('button', { name: 'Review changes (dry run)' }).click();
    await shows(admin.getByRole('heading', { name: 'Changes against the default policy' })).visible();
    const diff = admin.getByRole('region', { name: 'Diff against the active version' });
    await shows(diff).containsText('+  - name: no-drop-in-prod');
    await shows(admin.locator('.diff-add').first()).visible();
    await admin
      .getByLabel('Comment for the history')
      .fill('guardrails, masking and break-glass from the console');
    await admin.getByRole('button', { name: 'Apply this policy' }).click();
    await shows(admin.getByText('Version 1 is active and is being pushed to every agent.')).visible();
    await shows(admin.getByRole('row', { name: /v1/ })).containsText('active');
    await shows(admin.getByRole('row', { name: /v1/ })).containsText('admin@tollgate.test');
    await expectAccessible(admin, 'policy applied');
    await shot(admin, 'policy');

    // The agent acknowledges the new bundle: the Agents page shows the version it enforces.
    await go(admin, 'Agents');
    await expect
      .poll(() => admin.getByRole('row', { name: /edge-1/ }).textContent(), { timeout: 15_000 })
      .toMatch(/v1(?!\d)/);
    await shot(admin, 'agents');
  });

  it('a query in the console runs through the session pipeline: masked results, a denied DROP, both in the timeline', async () => {
    await go(admin, 'Query');
    await admin.getByLabel('Connection').selectOption('pg-app');
    await admin.getByLabel('SQL').fill('select name, email from customers order by id');
    await admin.getByRole('button', { name: 'Run' }).click();
    const result = admin.getByRole('region', { name: 'Result 1' });
    await shows(result.getByRole('row', { name: /Ada/ })).containsText('a***@***.com');
    await shows(result).lacksText('ada@example.com');
    await shows(admin.getByText('SELECT 3')).visible();
    await shot(admin, 'query');
    await expectAccessible(admin, 'query results');

    await admin.getByLabel('SQL').fill('drop table customers');
    await admin.getByLabel('SQL').press('Control+Enter');
    await shows(admin.getByRole('alert').filter({ hasText: 'ERROR 42501' })).containsText(
      'DROP and TRUNCATE are not allowed in production',
    );
    expect((await sql((c) => c.query('select count(*)::int as n from customers'))).rows[0]).toEqual({ n: 3 });

    await admin.getByRole('link', { name: /^[0-9a-f]{8}$/ }).click();
    await admin.getByRole('heading', { level: 1, name: 'Session on pg-app' }).waitFor();
    const timeline = admin.getByRole('region', { name: 'Session timeline' });
    await shows(timeline.getByRole('row', { name: /drop table customers/ })).containsText('deny');
    await shows(timeline.getByRole('row', { name: /no-drop-in-prod/ })).visible();
    await shows(admin.getByText(/closed/).first()).visible();
    await expectAccessible(admin, 'session');
  });

  it('a developer asks for access in the console and a DBA approves it in another browser', async () => {
    const developer = await newPage();
    await signIn(developer, 'developer');
    const mine = developer.getByRole('region', { name: 'Your connections' });
    await shows(mine.getByRole('row', { name: /pg-app/ })).containsText('request connect or exec');
    await shows(
      developer.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Query' }),
    ).count(0);
    await mine.getByRole('link', { name: 'Request access' }).click();
    await developer.getByRole('heading', { level: 1, name: 'Reviews' }).waitFor();
    await shows(developer.getByLabel('Connection')).value('pg-app');
    await developer.getByLabel('Verb').selectOption('exec');
    await developer.getByLabel('For how long').fill('1h');
    await developer.getByLabel('Reason', { exact: true }).fill('incident 42: check the customer table');
    await developer.getByRole('button', { name: 'Request access' }).click();
    await shows(developer.getByText(/Requested: group:dba will review it/)).visible();
    await expectAccessible(developer, 'reviews (requester)');

    const dba = await newPage();
    await signIn(dba, 'dba', '/reviews');
    const inbox = dba.getByRole('region', { name: /Waiting for your decision/ });
    const card = inbox.getByRole('article', { name: /asks for exec on pg-app for 1h/ });
    await shows(card).containsText('incident 42');
    await expectAccessible(dba, 'review inbox');
    await shot(dba, 'reviews');
    // Nobody decides their own request; the DBA gives a reason with the approval.
    await card.getByLabel('Reason for your decision').fill('approved for incident 42');
    await card.getByRole('button', { name: 'Approve' }).click();
    await shows(card).count(0);

    await developer.reload();
    await go(developer, 'Query');
    await developer.getByLabel('SQL').fill('select count(*) as n from customers');
    await developer.getByRole('button', { name: 'Run' }).click();
    await shows(developer.getByRole('region', { name: 'Result 1' })).containsText('3');
  });

  it('an admin kills a live psql session from the sessions page', async () => {
    const token = (await loginDevUser(httpUrl, 'dba')).access_token;
    const connect = await spawnConnect(grpcUrl, token, 'pg-app');
    processes.push(connect.cli);
    const psql = spawn(
      'psql',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(connect.port),
        '-U',
        'postgres',
        '-d',
        db.name,
        '-c',
        'select pg_sleep(600)',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let psqlOutput = '';
    psql.stderr.on('data', (chunk: Buffer) => (psqlOutput += chunk.toString()));
    const psqlExit = new Promise<number | null>((done) => psql.once('exit', (code) => done(code)));
    try {
      await go(admin, 'Sessions');
      const live = admin.getByRole('row', { name: /dba@tollgate\.test/ }).filter({ hasText: 'open' });
      await shows(live).count(1, { timeout: 15_000 });
      await expectAccessible(admin, 'sessions');
      await shot(admin, 'sessions');
      admin.once('dialog', (dialog) => void dialog.accept());
      await live.getByRole('button', { name: /Kill/ }).click();
      expect(await psqlExit).not.toBe(0);
      expect(psqlOutput).toMatch(/server closed the connection|terminat|killed/i);
      await shows(live).count(0, { timeout: 10_000 });
      await shows(admin.getByRole('row', { name: /dba@tollgate\.test/ }).first()).containsText(/killed by/);
    } finally {
      psql.kill('SIGKILL');
    }
  });

  it("an admin replays an SSH command's recording on the session page", async () => {
    // A real sshd the local agent logs in to with a password read from a file only it is told of.
    const sshd = await startSshd();
    try {
      const passwordFile = join(dir.path, 'ssh-password');
      writeFileSync(passwordFile, sshd.user.password, { mode: 0o600 });
      const token = (await loginDevUser(httpUrl, 'admin')).access_token;
      const created = await fetch(`${httpUrl}/api/v1/connections`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'ssh-box',
          protocol: 'ssh',
          target: {
            host: sshd.host,
            port: sshd.port,
            username: sshd.user.name,
            hostKeyFingerprint: sshd.fingerprint,
          },
          credential: { password: `file:${passwordFile}` },
          agents: ['local'],
        }),
      });
      expect(created.status, await created.text()).toBe(201);
      const connect = await spawnConnect(grpcUrl, token, 'ssh-box', {
        TOLLGATE_SSH_HOST_KEY_FILE: join(dir.path, 'ssh_host_key'),
      });
      processes.push(connect.cli);
      const run = await runSshClient('ssh', [
        ...sshClientOptions(connect.port),
        'me@127.0.0.1',
        'echo replayed-in-the-console',
      ]);
      expect(run).toMatchObject({ code: 0, stdout: 'replayed-in-the-console\n' });

      await go(admin, 'Sessions');
      const row = admin.getByRole('row', { name: /ssh-box/ }).first();
      await shows(row).visible({ timeout: 15_000 });
      await row.getByRole('link').first().click();
      const player = admin.getByRole('region', {
        name: /^Recording \(exec: echo replayed-in-the-console\)$/,
      });
      await shows(player).visible({ timeout: 15_000 });
      await player.getByRole('button', { name: /play/i }).first().click();
      await shows(player).containsText('replayed-in-the-console', { timeout: 15_000 });
      await expectAccessible(admin, 'session with a recording');
    } finally {
      sshd.stop();
    }
  });

  it('the audit log verifies and exports from the console, and the console works on a phone and from the keyboard', async () => {
    await go(admin, 'Audit');
    await admin.getByRole('button', { name: 'Verify hash chains' }).click();
    await shows(admin.getByRole('status').filter({ hasText: 'Audit log intact.' })).visible();
    const download = admin.waitForEvent('download');
    await admin.getByRole('button', { name: 'Export (JSON lines)' }).click();
    const lines = readFileSync(await (await download).path(), 'utf8')
      .trim()
      .split('\n');
    expect(lines.length).toBeGreaterThan(10);
    const exported = lines.map((line) => JSON.parse(line) as { action: string; hash: string });
    expect(exported.every((record) => /^[0-9a-f]{64}$/.test(record.hash))).toBe(true);
    expect(exported.map((record) => record.action)).toContain('policy:apply');
    await admin.getByLabel('Action').fill('policy:apply');
    await admin.getByRole('button', { name: 'Search' }).click();
    const records = admin.getByRole('region', { name: 'Audit records' });
    await shows(records.getByRole('row', { name: /policy:apply/ })).containsText('admin@tollgate.test');
    await shows(records.getByRole('row')).count(2);
    // A command's record shows the statement and, denied, why; its result what it did.
    await admin.getByLabel('Action').fill('command');
    await admin.getByRole('button', { name: 'Search' }).click();
    await shows(records.getByRole('row', { name: /drop table customers/ })).containsText(
      'DROP and TRUNCATE are not allowed in production',
    );
    await admin.getByLabel('Action').fill('command.result');
    await admin.getByRole('button', { name: 'Search' }).click();
    await shows(
      records.getByRole('row', { name: /select name, email from customers order by id/ }).first(),
    ).containsText('-> 3 rows');
    await expectAccessible(admin, 'audit');
    await shot(admin, 'audit');

    await go(admin, 'Overview');
    await shows(admin.getByRole('link', { name: /Agents online/ })).containsText('2 / 2');
    await shot(admin, 'overview');

    // Keyboard: the first Tab reaches the skip link, which takes focus to the page's content.
    await admin.reload();
    await admin.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await admin.keyboard.press('Tab');
    await shows(admin.getByRole('link', { name: 'Skip to content' })).focused();
    await admin.keyboard.press('Enter');
    await shows(admin.locator('main')).focused();

    // A phone: the navigation folds behind a Menu button that says whether it is open.
    await admin.setViewportSize(PHONE);
    const nav = admin.getByRole('navigation', { name: 'Main' });
    await shows(nav.getByRole('link', { name: 'Sessions' })).hidden();
    const menu = admin.getByRole('button', { name: 'Menu' });
    await menu.focus();
    await admin.keyboard.press('Enter');
    await shows(menu).attribute('aria-expanded', 'true');
    await shot(admin, 'phone-menu');
    await nav.getByRole('link', { name: 'Sessions' }).click();
    await shows(menu).attribute('aria-expanded', 'false');
    await shows(admin.getByRole('heading', { level: 1, name: 'Sessions' })).visible();
    const width = await admin.evaluate<number>('document.documentElement.scrollWidth');
    expect(width).toBeLessThanOrEqual(PHONE.width);
    await expectAccessible(admin, 'sessions on a phone');
    // A short page starts right under the top bar (the folded navigation leaves no gap).
    await menu.click();
    await nav.getByRole('link', { name: 'Query' }).click();
    const heading = admin.getByRole('heading', { level: 1, name: 'Query' });
    await shows(heading).visible();
    expect((await heading.boundingBox())?.y).toBeLessThan(120);
    await admin.setViewportSize(LAPTOP);

    expect(browserProblems).toEqual([]);
  });
});

interface AxeViolation {
  id: string;
  impact?: string;
  help: string;
  nodes: { target: string[] }[];
}
