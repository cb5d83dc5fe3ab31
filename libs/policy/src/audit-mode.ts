import type { ConnectionContext, SubjectContext } from './context.types';
import type { AuditMode, Policy } from './policy.types';
import { matchApplies } from './selectors';

/**
 * How a session's commands are made durable before they run: `gateway` (strict) when any audit rule
 * that matches the session says so, otherwise `edge` (the default). The stricter mode wins, so a
 * broad `edge` rule cannot weaken a narrower `gateway` one.
 */
export function auditModeFor(
  policy: Policy,
  context: { readonly subject: SubjectContext; readonly connection: ConnectionContext },
): AuditMode {
  for (const rule of policy.audit) {
    if (rule.mode === 'gateway' && matchApplies(rule.match, context.subject, context.connection)) {
      return 'gateway';
    }
  }
  return 'edge';
}
