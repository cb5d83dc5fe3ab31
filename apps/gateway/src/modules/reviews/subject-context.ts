import type { SubjectContext } from '@tollgate/policy';
import type { Principal } from '../identity/principal';

/** The policy engine's view of a caller. */
export function subjectContext(principal: Principal): SubjectContext {
  return {
    subject: principal.subject,
    ...(principal.subject.startsWith('user:') && principal.displayName.includes('@')
      ? { email: principal.displayName }
      : {}),
    groups: principal.groups,
    actorChain: principal.actorChain,
  };
}
