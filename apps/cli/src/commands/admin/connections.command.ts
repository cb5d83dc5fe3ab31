import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import { ApiCallError, type ApiClient } from '../../api-client';
import type { ConnectionView } from '../../resources/connection-plan';
import { connectionWarnings } from '../../resources/connection-warnings';
import { printTable } from './agents-list.command';
import { runAdmin } from './run-admin';

interface TargetFlags {
  host?: string;
  port?: string;
  database?: string;
  username?: string;
  tls?: string;
  hostKey?: string;
  trustOnFirstUse?: boolean;
  url?: string;
  inCluster?: boolean;
  credential?: string[];
  tag?: string[];
  untag?: string[];
  agent?: string[];
  description?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `tollgate admin connections create|list|show|edit|delete`: the resources reached through agents. */
export function connectionsAdminCommand(): Command {
  return new Command('connections')
    .description('register and manage connections (what agents reach); as files: tollgate admin apply -f')
    .addCommand(
      withTargetFlags(
        new Command('create')
          .description('register a connection; the target flags that apply to its protocol')
          .argument('<name>')
          .requiredOption('--protocol <protocol>', 'postgres | mysql | ssh | kubernetes | http | tcp'),
      ).action((name: string, flags: TargetFlags & { protocol: string }, command: Command) =>
        runAdmin(command, async (api) => {
          const created = await api
            .call<ConnectionView>('POST', '/api/v1/connections', {
              name,
              protocol: flags.protocol,
              target: targetOf(flags.protocol, flags),
              tags: Object.fromEntries(pairs(flags.tag, 'tag')),
              credential: Object.fromEntries(pairs(flags.credential, 'credential')),
              agents: flags.agent ?? [],
              ...(flags.description ? { description: flags.description } : {}),
            })
            .catch((error: unknown) => {
              if (error instanceof ApiCallError && error.status === 409) {
                throw new Error(
                  `${error.message} (to change it: tollgate admin connections edit ${name} --port ...; to see it: tollgate admin connections show ${name})`,
                );
              }
              throw error;
            });
          process.stdout.write(`connection ${created.name} created (${created.protocol})\n`);
          warn(created);
        }),
      ),
    )
    .addCommand(
      new Command('list')
        .alias('ls')
        .description('list connections: protocol, target, agents, tags')
        .option('--protocol <protocol>', 'only this protocol')
        .option('--tag <key=value>', 'only connections with this tag')
        .option('--json', 'print the API response as JSON')
        .action((flags: { protocol?: string; tag?: string; json?: boolean }, command: Command) =>
          runAdmin(command, async (api) => {
            const query = new URLSearchParams({
              ...(flags.protocol ? { protocol: flags.protocol } : {}),
              ...(flags.tag ? { tag: flags.tag } : {}),
            }).toString();
            const { items } = await api.call<{ items: ConnectionView[] }>(
              'GET',
              `/api/v1/connections${query ? `?${query}` : ''}`,
            );
            if (flags.json) return void process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
            printTable(
              ['NAME', 'PROTOCOL', 'TARGET', 'AGENTS', 'TAGS'],
              items.map((c) => [
                c.name,
                c.protocol,
                describeTarget(c.target),
                c.agents.map((a) => a.name).join(',') || '-',
                Object.entries(c.tags)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(',') || '-',
              ]),
            );
          }),
        ),
    )
    .addCommand(
      new Command('show')
        .description('print a connection as a document that tollgate admin apply -f takes')
        .argument('<name>')
        .option('--json', 'print the API response as JSON')
        .action((name: string, flags: { json?: boolean }, command: Command) =>
          runAdmin(command, async (api) => {
            const c = await get(api, name);
            if (flags.json) return void process.stdout.write(`${JSON.stringify(c, null, 2)}\n`);
            process.stdout.write(stringify(asDocument(c)));
            warn(c);
          }),
        ),
    )
    .addCommand(
      withTargetFlags(
        new Command('edit')
          .description(
            'change the named fields only (a merge patch: the target keys, tags and credentials given)',
          )
          .argument('<name>')
          .option('--untag <key>', 'remove a tag (repeatable)', collect),
      ).action((name: string, flags: TargetFlags, command: Command) =>
        runAdmin(command, async (api) => {
          const current = await get(api, name);
          const target = targetOf(current.protocol, flags);
          const tags = [...pairs(flags.tag, 'tag'), ...(flags.untag ?? []).map((k) => [k, null] as const)];
          const patch = {
            ...(Object.keys(target).length ? { target } : {}),
            ...(tags.length ? { tags: Object.fromEntries(tags) } : {}),
            ...(flags.credential
              ? { credential: Object.fromEntries(pairs(flags.credential, 'credential')) }
              : {}),
            ...(flags.agent ? { agents: flags.agent } : {}),
            ...(flags.description !== undefined ? { description: flags.description || null } : {}),
          };
          if (Object.keys(patch).length === 0)
            throw new Error('nothing to change: give the fields to change');
          const updated = await api.call<ConnectionView>('PATCH', path(name), patch);
          process.stdout.write(`connection ${updated.name} changed ${JSON.stringify(patch)}\n`);
          warn(updated);
        }),
      ),
    )
    .addCommand(
      new Command('delete')
        .description('delete a connection (its agents stop serving it)')
        .argument('<name>')
        .action((name: string, _flags: unknown, command: Command) =>
          runAdmin(command, async (api) => {
            await api.call('DELETE', path(name));
            process.stdout.write(`connection ${name} deleted\n`);
          }),
        ),
    );
}

function withTargetFlags(command: Command): Command {
  return command
    .addOption(new Option('--host <host>', 'target host (postgres, mysql, ssh, tcp)'))
    .addOption(new Option('--port <port>', 'target port'))
    .addOption(new Option('--database <name>', 'database (postgres, mysql)'))
    .addOption(new Option('--username <name>', 'user the agent logs in as (postgres, mysql, ssh)'))
    .addOption(
      new Option('--tls <mode>', 'TLS to the target (postgres, mysql); unset means verify-full').choices([
        'disable',
        'require',
        'verify-ca',
        'verify-full',
      ]),
    )
    .addOption(
      new Option(
        '--host-key <fingerprint>',
        "the SSH server's host key to pin (ssh): SHA256:... as `ssh-keygen -lf KEY.pub` prints it",
      ),
    )
    .addOption(
      new Option('--trust-on-first-use', 'without --host-key (ssh): pin the first host key the agent sees'),
    )
    .addOption(new Option('--url <url>', 'URL (http) or API server (kubernetes)'))
    .addOption(
      new Option(
        '--in-cluster',
        'kubernetes: the agent runs in the cluster and uses its pod (API server, service account token and CA)',
      ),
    )
    .addOption(
      new Option(
        '--credential <key=ref>',
        'password=env:NAME or privateKey=file:/path ... (repeatable)',
      ).argParser(collect),
    )
    .addOption(new Option('--tag <key=value>', 'a tag (repeatable)').argParser(collect))
    .addOption(
      new Option('--agent <name>', 'an agent that serves it (repeatable; edit replaces the list)').argParser(
        collect,
      ),
    )
    .addOption(new Option('--description <text>', 'what it is'));
}

/** The target fields the flags give, shaped for the protocol; the gateway validates them. */
function targetOf(protocol: string, flags: TargetFlags): Record<string, unknown> {
  const port = flags.port === undefined ? undefined : Number(flags.port);
  if (port !== undefined && !Number.isInteger(port))
    throw new Error(`--port: expected a number, got ${flags.port}`);
  const url =
    protocol === 'kubernetes'
      ? { server: flags.url, inCluster: flags.inCluster }
      : { url: flags.url, ...(flags.inCluster ? { inCluster: true } : {}) };
  const target: Record<string, unknown> =
    protocol === 'http' || protocol === 'kubernetes'
      ? url
      : {
          host: flags.host,
          port,
          database: flags.database,
          username: flags.username,
          tls: flags.tls === undefined ? undefined : { mode: flags.tls },
          hostKeyFingerprint: flags.hostKey,
          trustOnFirstUse: flags.trustOnFirstUse,
        };
  return Object.fromEntries(Object.entries(target).filter(([, v]) => v !== undefined));
}

function pairs(values: string[] | undefined, flag: string): (readonly [string, string])[] {
  return (values ?? []).map((value) => {
    const at = value.indexOf('=');
    if (at <= 0) throw new Error(`--${flag} ${value}: expected key=value`);
    return [value.slice(0, at), value.slice(at + 1)] as const;
  });
}

const path = (name: string) => `/api/v1/connections/${encodeURIComponent(name)}`;

function get(api: ApiClient, name: string): Promise<ConnectionView> {
  return api.call<ConnectionView>('GET', path(name));
}

function warn(c: ConnectionView): void {
  for (const warning of connectionWarnings(c.name, c.protocol, c.target))
    process.stderr.write(`${warning}\n`);
}

function describeTarget(target: Record<string, unknown>): string {
  const text = (value: unknown) =>
    typeof value === 'string' || typeof value === 'number' ? String(value) : '';
  const where =
    text(target['url']) ||
    text(target['server']) ||
    (target['inCluster'] === true ? 'in-cluster' : `${text(target['host'])}:${text(target['port'])}`);
  const database = text(target['database']);
  return database ? `${where}/${database}` : where;
}

/** The connection as `tollgate admin apply -f` takes it back. */
export function asDocument(c: ConnectionView): Record<string, unknown> {
  return {
    kind: 'connection',
    name: c.name,
    protocol: c.protocol,
    ...(c.description ? { description: c.description } : {}),
    ...(Object.keys(c.tags).length ? { tags: c.tags } : {}),
    target: c.target,
    ...(Object.keys(c.credential).length ? { credential: c.credential } : {}),
    agents: c.agents.map((a) => a.name),
  };
}
