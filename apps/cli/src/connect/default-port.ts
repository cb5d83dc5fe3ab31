import { loadCliConfig } from '@tollgate/config';
import { refusedTokenHint } from '../credentials/access-token';

/** DESIGN's local listener ports, by protocol, so native clients find `tollgate connect` where they expect. */
export const DEFAULT_LOCAL_PORTS: Readonly<Record<string, number>> = {
  postgres: 5433,
  mysql: 3307,
  ssh: 2222,
  http: 8081,
  kubernetes: 8081,
  tcp: 8999,
};

/**
 * Asks the gateway what the connection speaks (and whether the caller may connect at all), which
 * chooses the local listener and its default port. A refusal ends `connect` before it listens; a
 * gateway that cannot be asked leaves a plain tcp relay, with a warning.
 */
export async function connectionProtocol(
  connectionName: string,
  token: string,
  warn: (line: string) => void,
): Promise<string> {
  const { gatewayUrl } = loadCliConfig();
  let response: Response;
  try {
    response = await fetch(`${gatewayUrl}/api/v1/connections/${encodeURIComponent(connectionName)}/access`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    warn(`could not ask ${gatewayUrl} for "${connectionName}"'s protocol; relaying as tcp (use --port)`);
    return 'tcp';
  }
  const body = (await response.json().catch(() => ({}))) as {
    protocol?: string;
    allowed?: boolean;
    reason?: string;
    detail?: string;
  };
  if (response.status === 404) {
    throw new Error(
      `${connectionName}: no such connection on ${gatewayUrl} (\`tollgate ls\` lists the ones you may use)`,
    );
  }
  if (!response.ok) {
    const hint = response.status === 401 ? ` (${refusedTokenHint()})` : '';
    throw new Error(`${connectionName}: ${body.detail ?? `the gateway answered ${response.status}`}${hint}`);
  }
  if (!body.allowed) throw new Error(`${connectionName}: denied: ${body.reason ?? 'no reason given'}`);
  return body.protocol ?? 'tcp';
}

/** The local port a protocol's listener uses unless --port says otherwise. */
export function defaultLocalPort(protocol: string): number {
  return DEFAULT_LOCAL_PORTS[protocol] ?? DEFAULT_LOCAL_PORTS['tcp'];
}
