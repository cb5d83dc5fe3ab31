import { Command } from 'commander';
import { runGatewayProcess } from '@tollgate/gateway';
import { addGatewayOptions, gatewayOverrides, type GatewayFlags } from './gateway-options';

export function gatewayCommand(): Command {
  return addGatewayOptions(
    new Command('gateway').description(
      'run the gateway (control plane) alone, configured by flags and environment',
    ),
  ).action(async (flags: GatewayFlags) => {
    await runGatewayProcess(gatewayOverrides(flags));
  });
}
