import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningGateway } from '../../start-gateway';
import { EnsureAgentTokenUseCase } from './usecases/ensure-agent-token.usecase';

export const LOCAL_AGENT_NAME = 'local';
const TOKEN_FILE = 'local-agent.token';

/**
 * The quickstart's agent token: kept in the data directory (mode 0600) and re-issued only when the
 * stored one no longer works (revoked, expired, or a new store).
 */
export async function localAgentToken(
  gateway: Pick<RunningGateway, 'resolve'>,
  dataDir: string,
): Promise<string> {
  const file = join(dataDir, TOKEN_FILE);
  const stored = existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
  const { token, created } = await gateway.resolve(EnsureAgentTokenUseCase).execute(LOCAL_AGENT_NAME, stored);
  if (created) writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}
