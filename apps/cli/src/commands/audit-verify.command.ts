import { Command } from 'commander';
import type { ApiClient } from '../api-client';
import { runAdmin } from './admin/run-admin';

interface Verification {
  ok: boolean;
  global: { count: number; head: { seq: number; hash: string } };
  sessions: { checked: number; events: number };
  journals?: { checked: number; events: number };
  faults: { chain: string; seq: number; rowId?: string; reason: string; detail: string }[];
  quarantined?: { chain: string; seq: number; rowId: string; sessionId: string | null; reason: string }[];
}

/**
 * `tollgate audit verify`: checks the global hash chain and every session's chain; names the first
 * altered, removed, reordered or truncated record of each broken chain and exits 1. Lists the agent
 * journal records kept in quarantine (QUARANTINED lines), which alone do not fail it.
 */
export function auditVerifyCommand(): Command {
  return new Command('verify')
    .description('verify the audit hash chains (global and per session); exit 1 naming the first bad record')
    .option('--json', 'print the API response as JSON')
    .action((flags: { json?: boolean }, command: Command) =>
      runAdmin(command, async (api: ApiClient) => {
        const result = await api.call<Verification>('GET', '/api/v1/audit/verify');
        if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        // Records the gateway could not store as events: kept as bytes, the chain checked across them.
        for (const q of flags.json ? [] : (result.quarantined ?? [])) {
          process.stdout.write(
            `QUARANTINED ${q.chain}: record ${q.seq} (quarantine id ${q.rowId}${q.sessionId ? `, session ${q.sessionId}` : ''}): ${q.reason}\n`,
          );
        }
        if (flags.json) {
          // printed whole above
        } else if (result.ok) {
          process.stdout.write(
            `audit log intact: ${result.global.count} records in the global chain (head ${result.global.head.seq} ${result.global.head.hash.slice(0, 16)}), ${result.sessions.events} events in ${result.sessions.checked} session chains, ${result.journals?.events ?? 0} events in ${result.journals?.checked ?? 0} agent journal chains\n`,
          );
        } else {
          for (const f of result.faults) {
            const where =
              f.chain === 'global'
                ? 'global chain'
                : f.chain.startsWith('agent ')
                  ? f.chain
                  : `session ${f.chain}`;
            process.stdout.write(
              `TAMPERED ${where}: record ${f.seq}${f.rowId ? ` (row id ${f.rowId})` : ''} ${f.reason}: ${f.detail}\n`,
            );
          }
        }
        if (!result.ok) process.exitCode = 1;
      }),
    );
}
