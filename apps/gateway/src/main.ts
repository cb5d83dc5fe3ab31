import { runGatewayProcess } from './run-gateway-process';

// `node apps/gateway/dist/main.js`: the gateway alone, configured by the environment.
runGatewayProcess({}).catch((error: unknown) => {
  process.stderr.write(
    `tollgate gateway: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
