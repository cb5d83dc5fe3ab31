import { isSeq, parseDocument } from 'yaml';
import { evaluateAccess } from './access.engine';
import type { SubjectContext } from './context.types';
import type { Policy } from './policy.types';

/**
 * Who a policy lets administer, among the principals that exist (enabled users with their groups,
 * enabled service accounts): what the gateway checks before a version becomes active, so that no
 * apply, restore or console edit can leave nobody able to apply the next one.
 */
export function administratorsAmong(policy: Policy, principals: readonly SubjectContext[]): string[] {
  return principals
    .filter((who) => evaluateAccess(policy, { ...who, actorChain: [] }, 'admin').allowed)
    .map((who) => who.subject);
}

/** Why applying `policy` would lock everyone out, or null when someone can still administer. */
export function lockOutProblem(policy: Policy, principals: readonly SubjectContext[]): string | null {
  if (administratorsAmong(policy, principals).length > 0) return null;
  return (
    `no enabled user or service account (of ${principals.length}) could administer under this policy: ` +
    'no role grants admin to any of them, so nobody could apply or restore another version. ' +
    'Keep a role with the admin verb whose subjects name an existing user, group member or service ' +
    'account (e.g. group:tollgate-admins); `tollgate admin recover --subject S` on the gateway host ' +
    'repairs a store that is locked out'
  );
}

/**
 * The document with one more role, granting `admin` to `subject` (comments and layout of the rest
 * kept): what `tollgate admin recover` applies.
 */
export function withAdministratorRole(document: string, roleName: string, subject: string): string {
  const doc = parseDocument(document);
  const role = doc.createNode({ name: roleName, subjects: [subject], connections: ['*'], verbs: ['admin'] });
  const roles = doc.get('roles');
  if (isSeq(roles)) roles.add(role);
  else doc.set('roles', doc.createNode([role]));
  return doc.toString();
}
