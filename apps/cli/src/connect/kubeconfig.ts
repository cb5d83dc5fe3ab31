import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';

type Named = { name?: unknown } & Record<string, unknown>;

/** The names `tollgate connect` uses in a kubeconfig for a connection (cluster, user and context). */
export const kubeContextName = (connection: string) => `tollgate-${connection}`;

function upsert(list: unknown, entry: Named): Named[] {
  const items = Array.isArray(list) ? (list as Named[]) : [];
  const index = items.findIndex((item) => item?.name === entry.name);
  if (index < 0) return [...items, entry];
  return items.map((item, i) => (i === index ? entry : item));
}

/**
 * Adds (or updates) the context `tollgate-NAME` in a kubeconfig: a cluster at the local listener,
 * a user with no credentials (the agent holds them), and the context joining them. Everything else
 * in the file is kept; the current context is set only when the file has none, so a running
 * `tollgate connect` never silently redirects kubectl. Written to a temporary file and renamed, mode
 * 0600, as kubectl writes it.
 */
export function writeKubeContext(
  file: string,
  connection: string,
  port: number,
): { context: string; current: boolean } {
  let document: Record<string, unknown> = {};
  try {
    const parsed: unknown = parse(readFileSync(file, 'utf8'));
    if (parsed && typeof parsed === 'object') document = parsed as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot update ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const name = kubeContextName(connection);
  const current = typeof document['current-context'] === 'string' && document['current-context'] !== '';
  const updated = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    ...document,
    // Plain HTTP on loopback (TLS runs from the agent to the API server): @kubernetes/client-node
    // refuses an http:// server unless told TLS is not verified, and kubectl ignores the flag there.
    clusters: upsert(document['clusters'], {
      name,
      cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true },
    }),
    users: upsert(document['users'], { name, user: {} }),
    contexts: upsert(document['contexts'], { name, context: { cluster: name, user: name } }),
    'current-context': current ? document['current-context'] : name,
  };
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.tollgate-${process.pid}`;
  writeFileSync(temporary, stringify(updated), { mode: 0o600 });
  renameSync(temporary, file);
  return { context: name, current: !current };
}
