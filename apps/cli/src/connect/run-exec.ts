import { readFileSync } from 'node:fs';
import { Protocol } from '@tollgate/proto';
import { runMysqlQuery } from '@tollgate/protocol-mysql';
import { execExitStatus, runSshExec } from '@tollgate/protocol-ssh';
import {
  formatResults,
  frameStreamDuplex,
  runSimpleQuery,
  type ResultFormat,
  type StatementResult,
} from '@tollgate/protocol-postgres';
import { clientCodec, describeFailure, openTunnelSession, tunnelClient } from './tunnel-session';
import { CLI_VERSION } from '../version';
import type { TunnelFlags } from '../commands/tunnel-options';
import { tunnelConfig } from './tunnel-config';

export interface ExecFlags extends TunnelFlags {
  command?: string;
  file?: string;
  format: ResultFormat;
}

/** `tollgate exec NAME`: what execCommand runs (see there). */
export async function runExec(name: string, flags: ExecFlags): Promise<void> {
  if ((flags.command === undefined) === (flags.file === undefined)) {
    throw new Error('give the SQL (or SSH command) with exactly one of -c/--command or -f/--file');
  }
  const sql = flags.command ?? readSql(flags.file as string);
  const { config, token } = await tunnelConfig(flags);
  const client = tunnelClient(config);
  try {
    const outcome = await openTunnelSession(client, {
      connectionName: name,
      token,
      clientVersion: CLI_VERSION,
      clientAddr: 'tollgate exec',
      // Authorized as exec (roles, token scopes such as exec:NAME, grants), not connect.
      verb: 'exec',
    });
    if (outcome.kind === 'failed') throw new Error(describeFailure(name, outcome.failed));
    const stream = frameStreamDuplex(outcome.call, clientCodec);
    if (outcome.opened.protocol === Protocol.SSH) {
      const ran = await runSshExec(stream, sql, { stdout: process.stdout, stderr: process.stderr });
      if (ran.kind === 'lost')
        process.stderr.write(`tollgate: ${name}: the session ended before the command did\n`);
      process.exitCode = execExitStatus(ran);
      return;
    }
    let results: readonly StatementResult[];
    if (outcome.opened.protocol === Protocol.POSTGRES) {
      // Notices are said as they come: a statement held for approval says so (and which
      // review to approve) while it waits, not after. (MySQL below: the same, from MariaDB's
      // progress reports.)
      const run = await runSimpleQuery(stream, sql, {
        onNotice: (notice) => process.stderr.write(`NOTICE: ${notice}\n`),
      });
      results = run.results;
    } else if (outcome.opened.protocol === Protocol.MYSQL) {
      results = await runMysqlQuery(stream, sql, {
        onNotice: (notice) => process.stderr.write(`NOTICE: ${notice}\n`),
      });
    } else {
      // The gateway refuses exec on other protocols; an older gateway might not.
      outcome.call.cancel();
      throw new Error(
        `${name}: exec supports PostgreSQL, MySQL and SSH connections; use \`tollgate connect\` for this one`,
      );
    }
    process.stdout.write(formatResults(results, flags.format));
    const failed = results.filter((r) => r.error);
    for (const { error } of failed) {
      process.stderr.write(`ERROR: ${error?.message} (SQLSTATE ${error?.code})\n`);
    }
    if (failed.length > 0) process.exitCode = 1;
  } finally {
    client.close();
  }
}

function readSql(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}
