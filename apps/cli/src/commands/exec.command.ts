import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { loadConnectConfig } from '@tollgate/config';
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
import {
  checkGatewayCertificate,
  clientCodec,
  describeFailure,
  openTunnelSession,
  tunnelClient,
} from '../connect/tunnel-session';
import { CLI_VERSION } from '../version';
import { currentAccessToken } from '../credentials/access-token';
import { advertisedGrpcUrl } from '../connect/gateway-grpc-url';

interface ExecFlags {
  command?: string;
  file?: string;
  format: ResultFormat;
  grpc?: string;
  insecure?: boolean;
  caFile?: string;
  gatewayFingerprint?: string;
}

/**
 * `tollgate exec NAME -c SQL`: one-off commands through the same pipeline as `connect` (the same
 * session, policy, masking and audit), printed as a table, JSON or CSV. Exits 1 when the session
 * cannot open or any statement fails. On an SSH connection `-c` is a command line, run at the
 * target (decided by policy, recorded) with its stdout and stderr printed as they come and its exit
 * status (128 + the signal's number for a signal) as tollgate's.
 */
export function execCommand(): Command {
  return new Command('exec')
    .description(
      'run SQL on a PostgreSQL or MySQL connection, or a command on an SSH connection, through the gateway and print the results',
    )
    .argument('<name>', 'connection name')
    .addOption(
      new Option(
        '-c, --command <text>',
        'SQL to run (several statements are decided as a whole), or for SSH a command line',
      ),
    )
    .addOption(new Option('-f, --file <file>', 'read the SQL (or SSH command line) from a file'))
    .addOption(
      new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'),
    )
    .addOption(
      new Option(
        '--grpc <url>',
        'gateway gRPC URL (default: the one the gateway advertises, else http://127.0.0.1:8010; or TOLLGATE_GRPC_URL)',
      ),
    )
    .addOption(new Option('--insecure', 'allow plain text to a gateway that is not on loopback'))
    .addOption(new Option('--ca-file <file>', 'CA certificates for the gateway (default: system roots)'))
    .addOption(
      new Option(
        '--gateway-fingerprint <sha256>',
        "pin the gateway's TLS certificate: sha256:AB:CD:... (or TOLLGATE_GATEWAY_FINGERPRINT)",
      ),
    )
    .action(async (name: string, flags: ExecFlags) => {
      if ((flags.command === undefined) === (flags.file === undefined)) {
        throw new Error('give the SQL (or SSH command) with exactly one of -c/--command or -f/--file');
      }
      const sql = flags.command ?? readSql(flags.file as string);
      const overrides = {
        grpcUrl: flags.grpc,
        insecure: flags.insecure,
        caFile: flags.caFile,
        gatewayFingerprint: flags.gatewayFingerprint,
      };
      loadConnectConfig(overrides); // bad flags are said before anything else
      const token = await currentAccessToken();
      const advertised = flags.grpc === undefined ? await advertisedGrpcUrl(token) : undefined;
      const config = loadConnectConfig(overrides, undefined, advertised ? { grpcUrl: advertised } : {});
      await checkGatewayCertificate(config);
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
    });
}

function readSql(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}
