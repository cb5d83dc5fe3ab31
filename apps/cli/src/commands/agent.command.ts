import { Command, Option } from 'commander';

interface AgentFlags {
  gateway?: string;
  token?: string;
  insecure?: boolean;
  caFile?: string;
  gatewayFingerprint?: string;
  dataDir?: string;
  logLevel?: string;
  logFormat?: string;
}

/** `tollgate agent`: the edge daemon next to the resources; dials out to the gateway. */
export function agentCommand(): Command {
  return new Command('agent')
    .description('run an agent: dial out to the gateway and serve the connections assigned to it')
    .addOption(
      new Option('--gateway <url>', 'gateway gRPC URL, https://host:port (or TOLLGATE_AGENT_GATEWAY)'),
    )
    .addOption(new Option('--token <token>', 'agent token (prefer TOLLGATE_AGENT_TOKEN: flags show in ps)'))
    .addOption(new Option('--insecure', 'allow plain text to a gateway that is not on loopback'))
    .addOption(new Option('--ca-file <file>', 'CA certificates for the gateway (default: system roots)'))
    .addOption(
      new Option(
        '--gateway-fingerprint <sha256>',
        "pin the gateway's TLS certificate: sha256:AB:CD:... (or TOLLGATE_AGENT_GATEWAY_FINGERPRINT)",
      ),
    )
    .addOption(
      new Option(
        '--data-dir <dir>',
        "directory of the agent's audit journal (default ~/.tollgate/agent, or TOLLGATE_AGENT_DATA_DIR)",
      ),
    )
    .addOption(new Option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent'))
    .addOption(new Option('--log-format <format>', 'json|pretty'))
    .action(async (flags: AgentFlags) => {
      const { runAgentProcess } = await import('@tollgate/agent');
      await runAgentProcess({
        gateway: flags.gateway,
        token: flags.token,
        insecure: flags.insecure,
        caFile: flags.caFile,
        gatewayFingerprint: flags.gatewayFingerprint,
        dataDir: flags.dataDir,
        logLevel: flags.logLevel,
        logFormat: flags.logFormat,
      });
    });
}
