import { CONNECTION_VERBS, VERBS as POLICY_VERBS } from '@tollgate/policy';
import type { Verb } from '../access-decider';

/**
 * Scopes of gateway tokens. A scope is a verb (`connect`, `exec`, `admin`, `audit:read`, `review`),
 * optionally narrowed to connections: `connect:pg-prod`, `exec:pg-*`, `audit:read:pg-dev`. A token
 * may do what its scopes cover AND what the policy's roles allow its subject; scopes can only
 * narrow access.
 */
export const VERBS: readonly Verb[] = POLICY_VERBS;
export const ALL_SCOPES: readonly string[] = VERBS;

/** Verbs a scope may narrow to connections: the connection verbs, and audit:read (what it reads). */
const CONNECTION_SCOPED: readonly Verb[] = [...CONNECTION_VERBS, 'audit:read'];

/**
 * Verbs whose routes act on no connection but answer only with what the connections they cover
 * recorded: a narrowed scope (`audit:read:pg-dev`) lets the route through, and the answer is
 * narrowed to it (scopeReach).
 */
const NARROWED_BY_ANSWER: readonly Verb[] = ['audit:read'];

export interface ParsedScope {
  readonly verb: Verb;
  /** Connection name or glob; undefined for the whole verb. */
  readonly connection?: string;
}

export function parseScope(scope: string): ParsedScope | undefined {
  for (const verb of VERBS) {
    if (scope === verb) return { verb };
    if (CONNECTION_SCOPED.includes(verb) && scope.startsWith(`${verb}:`)) {
      const connection = scope.slice(verb.length + 1);
      if (/^[A-Za-z0-9._*-]+$/.test(connection)) return { verb, connection };
    }
  }
  return undefined;
}

/** Splits an OAuth `scope` parameter; returns the unknown ones separately. */
export function parseScopeParameter(value: string): { scopes: string[]; unknown: string[] } {
  const scopes = [...new Set(value.split(' ').filter((s) => s !== ''))];
  return { scopes, unknown: scopes.filter((s) => parseScope(s) === undefined) };
}

export function globMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return regex.test(value);
}

/** Whether `held` covers `requested` (so a child token may receive `requested`). */
export function scopeCovers(held: string, requested: string): boolean {
  if (held === requested) return true;
  const h = parseScope(held);
  const r = parseScope(requested);
  if (!h || !r || h.verb !== r.verb) return false;
  if (h.connection === undefined) return true;
  // A narrowed scope covers a single literal connection its glob matches.
  return r.connection !== undefined && !r.connection.includes('*') && globMatches(h.connection, r.connection);
}

/** The requested scopes no held scope covers (empty: the request is a subset). */
export function uncoveredScopes(held: readonly string[], requested: readonly string[]): string[] {
  return requested.filter((r) => !held.some((h) => scopeCovers(h, r)));
}

/**
 * Whether a token's scopes permit the verb (on the connection, for connect/exec). Asked without a
 * connection, a narrowed scope permits only the verbs whose answers it narrows (audit:read).
 */
export function scopesPermit(scopes: readonly string[], verb: Verb, connection?: string): boolean {
  return scopes.some((s) => {
    const parsed = parseScope(s);
    if (!parsed || parsed.verb !== verb) return false;
    if (parsed.connection === undefined) return true;
    if (connection === undefined) return NARROWED_BY_ANSWER.includes(verb);
    return globMatches(parsed.connection, connection);
  });
}

/**
 * Which connections a token's scopes reach with a verb: everywhere (the bare verb), the globs of its
 * narrowed scopes (`audit:read:pg-*`), or null when no scope names the verb.
 */
export function scopeReach(
  scopes: readonly string[],
  verb: Verb,
): { readonly everywhere: boolean; readonly globs: readonly string[] } | null {
  const parsed = scopes.map(parseScope).filter((p): p is ParsedScope => p?.verb === verb);
  if (parsed.length === 0) return null;
  return {
    everywhere: parsed.some((p) => p.connection === undefined),
    globs: parsed.flatMap((p) => (p.connection === undefined ? [] : [p.connection])),
  };
}
