import type { Verb } from '../access-decider';

/**
 * The part of a policy document the gateway's RBAC reads. Structurally a subset of
 * `@tollgate/policy`'s normalized `Policy`, so a parsed document can be used as is.
 */
export interface RbacPolicy {
  readonly roles: readonly RbacRole[];
  readonly delegation: { readonly maxDepth: number };
}

export interface RbacRole {
  readonly name: string;
  /** `user:<id|email>`, `group:<name>`, `sa:<name>` (globs allowed) or `*`. */
  readonly subjects: readonly string[];
  /** Connection name (glob), `tag:key=value` (value may be a glob) or `*`. */
  readonly connections: readonly string[];
  readonly verbs: readonly Verb[];
}
