import { Command } from 'commander';
import { addGatewayOptions, gatewayOverrides, type GatewayFlags } from './gateway-options';

export function gatewayCommand(): Command {
  return addGatewayOptions(
    new Command('gateway').description(
      'run the gateway (control plane) alone, configured by flags and environment',
    ),
  ).action(async (flags: GatewayFlags) => {
    // Loaded when used: the other commands start in a fraction of the time without Nest.
    const { runGatewayProcess } = await import('@tollgate/gateway');
    await runGatewayProcess(gatewayOverrides(flags));
  });
}
