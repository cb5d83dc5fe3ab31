import { isStartupProblem, runGatewayProcess } from './run-gateway-process';

// `node apps/gateway/dist/main.js`: the gateway alone, configured by the environment.
runGatewayProcess({}).catch((error: unknown) => {
  const message = isStartupProblem(error)
    ? error.message
    : error instanceof Error
      ? (error.stack ?? error.message)
      : String(error);
  process.stderr.write(`tollgate gateway: ${message}\n`);
  process.exit(1);
});
