import {
  DEFAULT_POLICY,
  DEFAULT_POLICY_YAML,
  formatPolicyError,
  parsePolicy,
  type Policy,
} from '@tollgate/policy';

/**
 * Used while no policy version is stored: members of the group `tollgate-admins` (from the IdP's
 * groups claim, or a service account's groups) may do everything; nobody else may do anything.
 */
export const BUILT_IN_POLICY_YAML = DEFAULT_POLICY_YAML;
export const BUILT_IN_POLICY: Policy = DEFAULT_POLICY;

/**
 * Used by the quickstart (dev IdP on) while no policy version is stored: one role per demo group.
 * The developer reaches connections tagged env=dev only; the auditor reads the audit log only.
 */
export const QUICKSTART_POLICY_YAML = `# Tollgate quickstart policy: roles for the development IdP's demo users.
version: 1
metadata:
  name: quickstart
  description: Used by \`tollgate start\` until a policy is applied.
roles:
  - name: tollgate-admins
    subjects: ["group:tollgate-admins"]
    connections: ["*"]
    verbs: [connect, exec, admin, "audit:read", review]
  - name: dba
    subjects: ["group:dba"]
    connections: ["*"]
    verbs: [connect, exec, review]
  - name: developers
    subjects: ["group:developers"]
    connections: ["tag:env=dev"]
    verbs: [connect, exec]
  - name: auditors
    subjects: ["group:auditors"]
    connections: ["*"]
    verbs: ["audit:read"]
delegation:
  max_depth: 2
`;

export const QUICKSTART_POLICY: Policy = parseBuiltIn(QUICKSTART_POLICY_YAML, 'quickstart-policy.yaml');

function parseBuiltIn(text: string, file: string): Policy {
  const result = parsePolicy(text, file);
  if (!result.ok)
    throw new Error(`built-in policy is invalid: ${result.errors.map(formatPolicyError).join('; ')}`);
  return result.policy;
}
