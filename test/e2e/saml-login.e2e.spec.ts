import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launchChromium,
  loginDevUser,
  makeTempDir,
  seedEmbeddedStore,
  spawnCli,
  type CliProcess,
} from '@tollgate/testing';

/**
 * SAML sign-in as a new user meets it on the quickstart: `tollgate start --dev-saml` runs the
 * development SAML IdP beside the OIDC one, and the real `tollgate` CLI logs in through it in a
 * real browser (Debian's Chromium driven by playwright-core): the IdP chooser, the loopback login,
 * the device login, a wrong password, and a user disabled in Tollgate.
 */
describe('SAML login on the quickstart (`tollgate start --dev-saml`, real CLI, real Chromium)', () => {
  const dir = makeTempDir('tollgate-saml-e2e-');
  const processes: CliProcess[] = [];
  let browser: Browser;
  let httpUrl: string;
  const env = (name: string) => ({
    TOLLGATE_URL: httpUrl,
    TOLLGATE_TOKEN: undefined,
    TOLLGATE_CREDENTIALS_FILE: join(dir.path, `${name}.json`),
  });
  const cli = (args: string[], name: string) => {
    const child = spawnCli(args, env(name));
    processes.push(child);
    return child;
  };
  const signInAtIdp = async (page: Page, user: string, password = `${user}-demo`) => {
    await expect.poll(() => page.title(), { timeout: 20_000 }).toMatch(/dev SAML IdP: sign in/);
    await page.getByLabel('User').fill(user);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  beforeAll(async () => {
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
        '--dev-saml',
        '--dev-saml-port',
        '0',
      ],
      { TOLLGATE_LOG_LEVEL: 'warn' },
    );
    processes.push(start);
    httpUrl = (await start.waitFor(/API\s+(http:\/\/\S+)\/api\/v1/))[1]!;
    await start.waitFor(/dev SAML\s+http:\/\/\S+\/saml\/metadata/);
    await start.waitFor(/log in\s+(npx )?tollgate login --idp saml/);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    dir.remove();
  });

  it('`tollgate login` lets the user pick SAML, signs in at the IdP, and the roles of the SAML groups apply', async () => {
    const login = cli(['login'], 'developer');
    const url = (await login.waitFor(/(http:\/\/\S+\/auth\/login\?\S+)/))[1];
    const page = await browser.newPage();
    await page.goto(url);
    // Both IdPs are configured and the CLI did not say which: the gateway asks.
    await expect.poll(() => page.title(), { timeout: 20_000 }).toBe('Tollgate: Sign in to Tollgate');
    await page.getByRole('link', { name: 'Sign in with SAML' }).click();
    // A typo first: the IdP says so and lets the user try again.
    await signInAtIdp(page, 'developer', 'developer-dmeo');
    await expect
      .poll(() => page.getByRole('alert').textContent(), { timeout: 20_000 })
      .toBe('Unknown user or wrong password.');
    await signInAtIdp(page, 'developer');
    // The IdP's HTTP-POST binding carries the response to the gateway, which redirects to the CLI.
    await expect
      .poll(() => page.textContent('body'), { timeout: 20_000 })
      .toMatch(/Logged in\. You can close this tab/);
    await page.close();
    expect(await login.exited()).toBe(0);
    expect(login.output()).toMatch(
      /Logged in to .* as developer@tollgate\.test \(user:[0-9a-f-]{36}; groups: developers\)/,
    );
    const subject = /\((user:[0-9a-f-]{36});/.exec(login.output())![1];

    const whoami = cli(['whoami'], 'developer');
    expect(await whoami.exited()).toBe(0);
    expect(whoami.output()).toContain(`subject  ${subject} (developer@tollgate.test)`);
    const admin = cli(['admin', 'agents', 'list'], 'developer');
    expect(await admin.exited()).toBe(1);
    expect(admin.output()).toMatch(/admin denied: no role grants admin to user:.* \(groups: developers\)/);
  });

  it('`tollgate login --device --idp saml`: the code is entered at the gateway in any browser', async () => {
    const login = cli(['login', '--device', '--idp', 'saml'], 'dba');
    const [, verification, code] = await login.waitFor(
      /open (http:\/\/\S+\/auth\/device) and enter the code ([A-Z]{4}-[A-Z]{4})/,
    );
    const page = await browser.newPage();
    await page.goto(verification);
    await page.getByLabel('Code').fill(code.toLowerCase());
    await page.getByRole('button', { name: 'Continue' }).click();
    await signInAtIdp(page, 'dba');
    await expect
      .poll(() => page.textContent('body'), { timeout: 20_000 })
      .toMatch(/Signed in as dba@tollgate\.test\. You can return to your device\./);
    await page.close();
    expect(await login.exited()).toBe(0);
    expect(login.output()).toMatch(
      /Logged in to .* as dba@tollgate\.test \(user:[0-9a-f-]{36}; groups: dba\)/,
    );
    // The code is spent: entering it again is refused.
    const again = await browser.newPage();
    await again.goto(`${verification}?user_code=${code}`);
    await again.getByRole('button', { name: 'Continue' }).click();
    await expect
      .poll(() => again.getByRole('alert').textContent(), { timeout: 20_000 })
      .toMatch(/Unknown or expired code/);
    await again.close();
  });

  it('refuses a SAML user disabled in Tollgate, and the CLI says why', async () => {
    const admin = await loginDevUser(httpUrl, 'admin');
    const auditor = async () => {
      const login = cli(['login', '--idp', 'saml'], 'auditor');
      const url = (await login.waitFor(/(http:\/\/\S+\/auth\/login\?\S+)/))[1];
      const page = await browser.newPage();
      await page.goto(url);
      await signInAtIdp(page, 'auditor');
      await expect
        .poll(() => page.textContent('body'), { timeout: 20_000 })
        .toMatch(/Logged in|Login failed/);
      const body = (await page.textContent('body')) ?? '';
      await page.close();
      return { code: await login.exited(), output: login.output(), body };
    };
    expect((await auditor()).code).toBe(0);
    const samlAuditor = (
      (await (
        await fetch(`${httpUrl}/api/v1/users`, { headers: { authorization: `Bearer ${admin.access_token}` } })
      ).json()) as { items: { id: string; email: string; issuer: string }[] }
    ).items.find((u) => u.email === 'auditor@tollgate.test' && u.issuer.endsWith('/saml/metadata'))!;
    const disabled = await fetch(`${httpUrl}/api/v1/users/${samlAuditor.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${admin.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ disabled: true }),
    });
    expect(disabled.status).toBe(200);

    const refused = await auditor();
    expect(refused.code).toBe(1);
    expect(refused.body).toContain(`Login failed: user user:${samlAuditor.id} is disabled in Tollgate`);
    expect(refused.output).toContain(`login failed: user user:${samlAuditor.id} is disabled in Tollgate`);
  });
});
