import type { ConnectionContext, SubjectContext } from './context.types';
import type { AuditMode, BodyCapture, BodyRecording, Policy } from './policy.types';
import { globMatch } from './glob';
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

/**
 * What a session records of HTTP bodies: per direction, every audit rule that matches it and records
 * that direction counts (more recording wins, as the stricter mode does): the largest `max_bytes`,
 * and the content types of all of them. Undefined when no rule records a body (the default).
 */
export function bodyRecordingFor(
  policy: Policy,
  context: { readonly subject: SubjectContext; readonly connection: ConnectionContext },
): BodyRecording | undefined {
  let request: BodyCapture | undefined;
  let response: BodyCapture | undefined;
  const merge = (into: BodyCapture | undefined, rule: BodyCapture): BodyCapture => ({
    maxBytes: Math.max(into?.maxBytes ?? 0, rule.maxBytes),
    contentTypes: [...new Set([...(into?.contentTypes ?? []), ...rule.contentTypes])],
  });
  for (const rule of policy.audit) {
    if (!rule.bodies || !matchApplies(rule.match, context.subject, context.connection)) continue;
    if (rule.bodies.request) request = merge(request, rule.bodies);
    if (rule.bodies.response) response = merge(response, rule.bodies);
  }
  if (!request && !response) return undefined;
  return { ...(request ? { request } : {}), ...(response ? { response } : {}) };
}

/**
 * Whether a body with this Content-Type header is recorded under `capture`: its media type (without
 * parameters, lower case) matches one of the content types. A body without a Content-Type is not.
 */
export function recordsContentType(capture: BodyCapture, contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (!type) return false;
  return capture.contentTypes.some((pattern) => globMatch(pattern, type));
}
