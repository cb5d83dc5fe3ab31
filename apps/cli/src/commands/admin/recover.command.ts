import { Command, Option } from 'commander';
import { loadGatewayConfig } from '@tollgate/config';

/**
 * `tollgate admin recover --subject S`: break-glass when no policy version lets anybody administer.
 * It works on the gateway's store directly (not through the API, which nobody may use any more), so
 * it runs where the gateway's configuration is: the same DATABASE_URL or --data-dir.
 */
export function adminRecoverCommand(): Command {
  return new Command('recover')
    .description(
      "on the gateway's host: grant admin back to a subject when nobody can administer (a new policy version, audited)",
    )
    .requiredOption('--subject <subject>', 'who gets admin: user:<id or e-mail>, group:<name> or sa:<name>')
    .addOption(new Option('--database-url <url>', "the gateway's PostgreSQL store (or DATABASE_URL)"))
    .addOption(
      new Option(
        '--data-dir <dir>',
        "the gateway's embedded store (or TOLLGATE_DATA_DIR; stop the gateway first)",
      ),
    )
    .action(async (flags: { subject: string; databaseUrl?: string; dataDir?: string }) => {
      const config = loadGatewayConfig({ databaseUrl: flags.databaseUrl, dataDir: flags.dataDir });
      // Loaded when used, like `tollgate gateway`: the other commands start without the gateway's code.
      const { recoverAdministrator } = await import('@tollgate/gateway');
      const recovered = await recoverAdministrator(config, flags.subject);
      process.stdout.write(
        `policy version ${recovered.version} applied: role ${recovered.role} grants admin to ${flags.subject} ` +
          `(on top of ${recovered.previousVersion === null ? 'the built-in policy' : `version ${recovered.previousVersion}`}); recorded as admin:recover\n`,
      );
      // The store's pool and the audit committer's timers would keep the process a while.
      process.exit(0);
    });
}
