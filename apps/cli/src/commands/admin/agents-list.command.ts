import { Command } from 'commander';
import type { ApiClient } from '../../api-client';
import { runAdmin } from './run-admin';
import { terminalText } from '../../terminal-text';

interface AgentRow {
  name: string;
  status: string;
  version: string | null;
  hostname: string | null;
  address: string | null;
  instance: string | null;
  lastSeenAt: string | null;
  bundleVersion: string | null;
  connections: { name: string }[];
}

/** `tollgate admin agents list`: agents with status, last seen, version, host, instance and bundle. */
export function agentsListCommand(): Command {
  return new Command('list')
    .alias('ls')
    .description(
      'list agents: online/offline, last seen, version, host, address and instance (while online), bundle version, connections',
    )
    .option('--json', 'print the API response as JSON')
    .action((flags: { json?: boolean }, command: Command) =>
      runAdmin(command, async (api: ApiClient) => {
        const { items } = await api.call<{ items: AgentRow[] }>('GET', '/api/v1/agents');
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
          return;
        }
        const rows = items.map((a) => [
          a.name,
          a.status,
          a.lastSeenAt ?? '-',
          a.version ?? '-',
          a.hostname ?? '-',
          a.address ?? '-',
          a.instance ?? '-',
          a.bundleVersion ?? '-',
          a.connections.map((c) => c.name).join(',') || '-',
        ]);
        printTable(
          ['NAME', 'STATUS', 'LAST SEEN', 'VERSION', 'HOST', 'ADDRESS', 'INSTANCE', 'BUNDLE', 'CONNECTIONS'],
          rows,
        );
      }),
    );
}

/** Prints a table; every cell is shown as text (controls escaped), one row per line. */
export function printTable(headers: string[], rawRows: string[][]): void {
  const rows = rawRows.map((row) => row.map(terminalText));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write([line(headers), ...rows.map(line)].join('\n') + '\n');
}
