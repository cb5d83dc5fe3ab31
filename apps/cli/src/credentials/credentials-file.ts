import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** What `tollgate login` keeps: only the user can read it (0600, in a 0700 directory). */
export interface StoredCredentials {
  readonly gatewayUrl: string;
  readonly accessToken: string;
  /** Unix seconds. */
  readonly expiresAt: number;
  readonly refreshToken?: string;
  readonly subject: string;
  readonly name: string;
}

export function readCredentials(file: string): StoredCredentials | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const value = JSON.parse(text) as Partial<StoredCredentials>;
  if (typeof value.accessToken !== 'string' || typeof value.gatewayUrl !== 'string') {
    throw new Error(`${file} is not a Tollgate credentials file; run \`tollgate login\` again`);
  }
  return value as StoredCredentials;
}

/** Written to a temporary file created 0600 and renamed over, so it is never readable by others. */
export function writeCredentials(file: string, credentials: StoredCredentials): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'w' });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
}

export function removeCredentials(file: string): boolean {
  try {
    rmSync(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** The unverified claims of a gateway token, for display and expiry; the gateway verifies. */
export interface PeekedClaims {
  readonly sub?: string;
  readonly name?: string;
  readonly scope?: string;
  readonly jti?: string;
  readonly exp?: number;
  readonly iat?: number;
  readonly groups: readonly string[];
  /** Actors, nearest first (from the nested `act` claim). */
  readonly actors: readonly string[];
}

export function peekClaims(token: string): PeekedClaims {
  let raw: Record<string, unknown> = {};
  try {
    raw = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    // not a JWT (an API key): nothing to show
  }
  const text = (key: string) => (typeof raw[key] === 'string' ? raw[key] : undefined);
  const actors: string[] = [];
  let act = raw.act;
  while (typeof act === 'object' && act !== null && actors.length < 16) {
    const { sub, act: inner } = act as { sub?: unknown; act?: unknown };
    actors.push(typeof sub === 'string' ? sub : '?');
    act = inner;
  }
  return {
    sub: text('sub'),
    name: text('name'),
    scope: text('scope'),
    jti: text('jti'),
    exp: typeof raw.exp === 'number' ? raw.exp : undefined,
    iat: typeof raw.iat === 'number' ? raw.iat : undefined,
    groups: Array.isArray(raw.groups) ? raw.groups.filter((g): g is string => typeof g === 'string') : [],
    actors,
  };
}
