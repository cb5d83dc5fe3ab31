import { formatPolicyError, parsePolicy } from './parse-policy';
import type { Policy } from './policy.types';

/**
 * The policy a fresh gateway runs until an administrator applies one: members of the
 * `tollgate-admins` group may do everything, on every connection; nobody else may do anything. It
 * has no guardrails and no masking, and keeps the default delegation depth (2) and session limits
 * (8 hours, read-write).
 */
export const DEFAULT_POLICY_YAML = `# Tollgate default policy: the tollgate-admins group may do everything; nobody else may do anything.
version: 1
metadata:
  name: default
  description: Built-in policy used until one is applied.
roles:
  - name: tollgate-admins
    description: Full access for the tollgate-admins group.
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review, register, forward]
delegation:
  max_depth: 2
sessions:
  max_duration: 8h
  read_only: false
`;

export const DEFAULT_POLICY_FILE = 'default-policy.yaml';

function parseDefault(): Policy {
  const result = parsePolicy(DEFAULT_POLICY_YAML, DEFAULT_POLICY_FILE);
  if (!result.ok)
    throw new Error(`built-in policy is invalid: ${result.errors.map(formatPolicyError).join('; ')}`);
  return result.policy;
}

/** {@link DEFAULT_POLICY_YAML}, parsed. */
export const DEFAULT_POLICY: Policy = parseDefault();
