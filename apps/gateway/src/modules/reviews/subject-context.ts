import type { SubjectContext } from '@tollgate/policy';
import type { Principal } from '../identity/principal';

/**
 * The policy engine's view of a caller. `user:<e-mail>` bindings match the e-mail the store has for
 * the person, never the display name (an IdP without an e-mail claim would otherwise let a user
 * named `boss@example.com` be taken for boss).
 */
export function subjectContext(principal: Principal): SubjectContext {
  return {
    subject: principal.subject,
    ...(principal.subject.startsWith('user:') && principal.email ? { email: principal.email } : {}),
    groups: principal.groups,
    actorChain: principal.actorChain,
  };
}
