import type { AccessRequest, Verb } from '../access-decider';
import { globMatches } from '../tokens/scopes';
import type { RbacPolicy, RbacRole } from './rbac-policy';

export interface RoleDecision {
  readonly allowed: boolean;
  readonly reason: string;
  readonly role?: string;
}

const CONNECTION_VERBS: readonly Verb[] = ['connect', 'exec'];

/**
 * RBAC over a policy's roles: a role grants its verbs to its subjects on its connections.
 * Verbs that are not about a connection (admin, audit:read, review) need a role whose connections
 * include `*`, so "admin on pg-*" does not make someone an administrator of the whole gateway.
 */
export function evaluateRoles(policy: RbacPolicy, request: AccessRequest): RoleDecision {
  const { principal, verb, connection } = request;
  if (CONNECTION_VERBS.includes(verb) && !connection) {
    return { allowed: false, reason: `${verb} needs a connection` };
  }
  for (const role of policy.roles) {
    if (!role.verbs.includes(verb)) continue;
    if (!role.subjects.some((s) => subjectMatches(s, principal))) continue;
    const onConnection = connection
      ? role.connections.some((c) => connectionMatches(c, connection))
      : role.connections.includes('*');
    if (onConnection) return { allowed: true, reason: `allowed by role "${role.name}"`, role: role.name };
  }
  const what = connection ? `${verb} on connection "${connection.name}"` : verb;
  return {
    allowed: false,
    reason: `no role grants ${what} to ${principal.subject}${groupsNote(principal.groups)}`,
  };
}

function groupsNote(groups: readonly string[]): string {
  return groups.length ? ` (groups: ${groups.join(', ')})` : ' (no groups)';
}

export function subjectMatches(
  selector: string,
  principal: { readonly subject: string; readonly displayName: string; readonly groups: readonly string[] },
): boolean {
  if (selector === '*') return true;
  if (selector.startsWith('group:')) {
    const pattern = selector.slice('group:'.length);
    return principal.groups.some((g) => globMatches(pattern, g));
  }
  if (selector.startsWith('user:')) {
    if (!principal.subject.startsWith('user:')) return false;
    const pattern = selector.slice('user:'.length);
    return (
      globMatches(pattern, principal.subject.slice('user:'.length)) ||
      globMatches(pattern, principal.displayName)
    );
  }
  if (selector.startsWith('sa:'))
    return principal.subject.startsWith('sa:') && globMatches(selector, principal.subject);
  return false;
}

export function connectionMatches(
  selector: string,
  connection: { readonly name: string; readonly tags: Readonly<Record<string, string>> },
): boolean {
  if (selector === '*') return true;
  if (selector.startsWith('tag:')) {
    const [key, ...rest] = selector.slice('tag:'.length).split('=');
    const value = connection.tags[key ?? ''];
    return value !== undefined && globMatches(rest.join('='), value);
  }
  return globMatches(selector, connection.name);
}

export type { RbacRole };
