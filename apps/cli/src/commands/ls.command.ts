import { Command, Option } from 'commander';
import { ApiClient } from '../api-client';
import { installedCommand } from '../installed-command';
import { defaultLocalPort } from '../connect/default-port';
import { printTable } from './admin/agents-list.command';

interface CallerConnection {
  name: string;
  protocol: string;
  description: string | null;
  verbs: string[];
  requestable: string[];
  grantExpiresAt: string | null;
}

interface CallerAccess {
  subject: string;
  displayName: string;
  verbs: string[];
  connections: CallerConnection[];
}

/**
 * `tollgate ls`: the connections the caller may use (any signed-in caller), with its verbs on each
 * and the command that reaches it; the ones it may only ask for, with the command that asks.
 */
export function lsCommand(): Command {
  return new Command('ls')
    .description('list the connections you may use, with your verbs and how to reach each one')
    .addOption(
      new Option('--gateway <url>', 'gateway HTTP URL (default http://127.0.0.1:8009; or TOLLGATE_URL)'),
    )
    .option('--json', 'print the API response as JSON')
    .action(async (flags: { gateway?: string; json?: boolean }) => {
      const access = await ApiClient.signedIn(flags.gateway).call<CallerAccess>('GET', '/api/v1/me/access');
      if (flags.json) return void process.stdout.write(`${JSON.stringify(access, null, 2)}\n`);
      const tollgate = installedCommand().command;
      if (access.connections.length === 0) {
        // An admin with nothing to list is usually looking at a new gateway: say how to add one.
        process.stdout.write(
          access.verbs.includes('admin')
            ? `no connections for ${access.displayName} yet: add one with \`${tollgate} admin connections create NAME --protocol postgres --host HOST --database DB --username USER --agent AGENT\` (or on the console's Connections page)\n`
            : `no connections for ${access.displayName} (${access.subject}): ask an admin for a role, or for access\n`,
        );
        return;
      }
      printTable(
        ['NAME', 'PROTOCOL', 'VERBS', 'REACH'],
        access.connections.map((c) => [
          c.name,
          c.protocol,
          [
            c.verbs.join(',') || '-',
            ...(c.grantExpiresAt ? [`(granted until ${c.grantExpiresAt})`] : []),
          ].join(' '),
          reach(tollgate, c),
        ]),
      );
    });
}

function reach(tollgate: string, c: CallerConnection): string {
  if (c.verbs.includes('connect')) {
    return `${tollgate} connect ${c.name}   (127.0.0.1:${defaultLocalPort(c.protocol)}; --exec runs the client)`;
  }
  if (c.verbs.includes('exec')) return `${tollgate} exec ${c.name} -c SQL`;
  const verb = c.requestable.includes('connect') ? 'connect' : (c.requestable[0] ?? 'connect');
  return `${tollgate} reviews request ${c.name} --verb ${verb} --duration 1h --reason ...   (may ask)`;
}
