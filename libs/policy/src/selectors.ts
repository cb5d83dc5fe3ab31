import type { ConnectionContext, SubjectContext } from './context.types';
import { globMatch, globMatchIgnoreCase } from './glob';
import type { Match } from './policy.types';

/** Does a policy subject pattern (`user:…`, `group:…`, `sa:…`, `*`) cover this subject? */
export function subjectMatches(pattern: string, who: SubjectContext): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('group:')) {
    const group = pattern.slice('group:'.length);
    return who.groups.some((g) => globMatch(group, g));
  }
  if (globMatch(pattern, who.subject)) return true;
  // E-mail addresses are case-insensitive in practice; ids and service-account names are not.
  return (
    pattern.startsWith('user:') &&
    who.email !== undefined &&
    who.subject.startsWith('user:') &&
    globMatchIgnoreCase(pattern, `user:${who.email}`)
  );
}

export function anySubjectMatches(patterns: readonly string[], who: SubjectContext): boolean {
  return patterns.some((p) => subjectMatches(p, who));
}

/** Does a connection selector (name glob, `tag:key=value`, `*`) cover this connection? */
export function connectionMatches(selector: string, connection: ConnectionContext): boolean {
  if (selector === '*') return true;
  if (selector.startsWith('tag:')) {
    const body = selector.slice('tag:'.length);
    const eq = body.indexOf('=');
    const key = body.slice(0, eq);
    const value = body.slice(eq + 1);
    const actual = Object.hasOwn(connection.tags, key) ? connection.tags[key] : undefined;
    return actual !== undefined && globMatch(value, actual);
  }
  return globMatch(selector, connection.name);
}

export function anyConnectionMatches(selectors: readonly string[], connection: ConnectionContext): boolean {
  return selectors.some((s) => connectionMatches(s, connection));
}

/** A rule's `match`: every field present must match; absent fields match everything. */
export function matchApplies(match: Match, who: SubjectContext, connection: ConnectionContext): boolean {
  if (match.connections && !anyConnectionMatches(match.connections, connection)) return false;
  if (match.protocols && !match.protocols.some((p) => p === connection.protocol)) return false;
  if (match.subjects && !anySubjectMatches(match.subjects, who)) return false;
  return true;
}
