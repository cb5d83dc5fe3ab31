import { Command, Option } from 'commander';
import { loadCliConfig } from '@tollgate/config';
import { currentAccessToken } from '../credentials/access-token';
import { checkChildLifetime } from '../credentials/child-lifetime';
import { peekClaims } from '../credentials/credentials-file';
import { callTokenEndpoint } from '../credentials/token-endpoint';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

interface TokenFlags {
  gateway?: string;
}

const gatewayOption = () =>
  new Option('--gateway <url>', 'gateway HTTP URL (default http://127.0.0.1:8009; or TOLLGATE_URL)');

/**
 * `tollgate token ...`: the current access token (TOLLGATE_TOKEN or the saved login), and delegated
 * child tokens for child processes (RFC 8693 token exchange).
 */
export function tokenCommand(): Command {
  return new Command('token')
    .description('print, inspect, exchange (delegate) and revoke access tokens')
    .addCommand(
      new Command('print')
        .description('print the current access token (refreshing the saved login if needed)')
        .addOption(gatewayOption())
        .action(async (flags: TokenFlags) => {
          process.stdout.write(`${await currentAccessToken(loadCliConfig({ gatewayUrl: flags.gateway }))}\n`);
        }),
    )
    .addCommand(
      new Command('exchange')
        .description(
          'exchange the current token for a narrower child token and print it (give it to a child process as TOLLGATE_TOKEN)',
        )
        .addOption(gatewayOption())
        .addOption(
          new Option(
            '--scope <scopes>',
            'space-separated subset of the current scopes, e.g. "connect:pg-dev"',
          ),
        )
        .addOption(
          new Option('--expires-in <seconds>', 'lifetime of the child (never beyond the current token)'),
        )
        .addOption(
          new Option('--actor-token <token>', 'token of the party that will act (named in the act claim)'),
        )
        .action(async (flags: TokenFlags & { scope?: string; expiresIn?: string; actorToken?: string }) => {
          const config = loadCliConfig({ gatewayUrl: flags.gateway });
          const parent = await currentAccessToken(config);
          if (flags.expiresIn !== undefined) {
            checkChildLifetime(flags.expiresIn, peekClaims(parent).exp, Date.now() / 1000);
          }
          const child = await callTokenEndpoint(config.gatewayUrl, {
            grant_type: EXCHANGE,
            subject_token: parent,
            subject_token_type: ACCESS_TOKEN,
            ...(flags.scope ? { scope: flags.scope } : {}),
            ...(flags.expiresIn !== undefined ? { expires_in: flags.expiresIn } : {}),
            ...(flags.actorToken ? { actor_token: flags.actorToken, actor_token_type: ACCESS_TOKEN } : {}),
          });
          process.stdout.write(`${child.access_token}\n`);
        }),
    )
    .addCommand(
      new Command('revoke')
        .description('revoke the current token (or TOKEN) and every token exchanged from it')
        .argument('[token]', 'the token to revoke (default: the current one)')
        .addOption(gatewayOption())
        .action(async (token: string | undefined, flags: TokenFlags) => {
          const config = loadCliConfig({ gatewayUrl: flags.gateway });
          const target = token ?? (await currentAccessToken(config));
          const response = await fetch(`${config.gatewayUrl}/oauth/revoke`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ token: target }).toString(),
            signal: AbortSignal.timeout(30_000),
          });
          if (!response.ok) throw new Error(`the gateway answered HTTP ${response.status}`);
          process.stdout.write(`revoked token ${peekClaims(target).jti ?? ''} and its descendants\n`);
        }),
    );
}

interface MeView {
  subject: string;
  displayName: string;
  groups: string[];
  scopes: string[];
  actorChain: { subject: string }[];
  expiresAt: string;
  detail?: string;
}

/** What /api/v1/me/access says of the caller, as far as whoami shows it. */
interface AccessView {
  verbs: string[];
  connections: { verbs: string[] }[];
}

/**
 * What the caller may do, in one line: the gateway verbs its roles grant, and how many connections
 * it may use (the token's scope is only the most it could be used for: the roles decide).
 */
export function mayLine(access: AccessView): string {
  const usable = access.connections.filter((c) => c.verbs.length > 0).length;
  const connections =
    usable > 0
      ? `use ${usable} connection${usable === 1 ? '' : 's'} (tollgate ls lists them)`
      : 'use no connection';
  return access.verbs.length > 0 ? `${access.verbs.join(' ')}; ${connections}` : connections;
}

/**
 * `tollgate whoami`: who the gateway says the current token is (it verifies the token: a revoked or
 * expired one is reported, and only the groups that still count are shown).
 */
export function whoamiCommand(): Command {
  return new Command('whoami')
    .description(
      'show the identity of the current token: subject, groups, scopes, what your roles grant, actors, expiry',
    )
    .addOption(gatewayOption())
    .action(async (flags: TokenFlags) => {
      const config = loadCliConfig({ gatewayUrl: flags.gateway });
      const headers = {
        authorization: `Bearer ${await currentAccessToken(config)}`,
        accept: 'application/json',
      };
      const [response, accessResponse] = await Promise.all(
        ['/api/v1/me', '/api/v1/me/access'].map((path) =>
          fetch(`${config.gatewayUrl}${path}`, { headers, signal: AbortSignal.timeout(30_000) }),
        ),
      );
      const me = (await response.json()) as MeView;
      if (!response.ok) throw new Error(me.detail ?? `HTTP ${response.status}`);
      // What the policy's roles grant under this token's scope (an older gateway may not say).
      const access = accessResponse.ok ? ((await accessResponse.json()) as AccessView) : undefined;
      const lines = [
        `subject  ${me.subject} (${me.displayName})`,
        `groups   ${me.groups.join(', ')}`,
        `scope    ${me.scopes.join(' ')}`,
        ...(access ? [`may      ${mayLine(access)}`] : []),
        ...(me.actorChain.length ? [`actors   ${me.actorChain.map((a) => a.subject).join(' <- ')}`] : []),
        `expires  ${me.expiresAt}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
