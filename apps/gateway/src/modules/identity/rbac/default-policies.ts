import type { RbacPolicy } from './rbac-policy';

/**
 * Used while no policy version is stored. Members of the group `tollgate-admins` (from the IdP's
 * groups claim, or a service account's groups) may do everything; nobody else may do anything.
 */
export const BUILT_IN_POLICY_YAML = `# Tollgate built-in policy (active until a policy version is applied)
roles:
  - name: tollgate-admins
    subjects: [group:tollgate-admins]
    connections: ["*"]
    verbs: [connect, exec, admin, audit:read, review]
delegation:
  max_depth: 2
`;

/**
 * Used by the quickstart (dev IdP on) while no policy version is stored: one role per demo group.
 * The developer reaches connections tagged env=dev only; the auditor reads the audit log only.
 */
export const QUICKSTART_POLICY_YAML = `# Tollgate quickstart policy (dev IdP demo users; active until a policy version is applied)
roles:
  - name: tollgate-admins
    subjects: [group:tollgate-admins]
    connections: ["*"]
    verbs: [connect, exec, admin, audit:read, review]
  - name: dba
    subjects: [group:dba]
    connections: ["*"]
    verbs: [connect, exec, review]
  - name: developers
    subjects: [group:developers]
    connections: [tag:env=dev]
    verbs: [connect, exec]
  - name: auditors
    subjects: [group:auditors]
    connections: ["*"]
    verbs: [audit:read]
delegation:
  max_depth: 2
`;

const ALL = ['connect', 'exec', 'admin', 'audit:read', 'review'] as const;

export const BUILT_IN_POLICY: RbacPolicy = {
  roles: [{ name: 'tollgate-admins', subjects: ['group:tollgate-admins'], connections: ['*'], verbs: ALL }],
  delegation: { maxDepth: 2 },
};

export const QUICKSTART_POLICY: RbacPolicy = {
  roles: [
    BUILT_IN_POLICY.roles[0],
    { name: 'dba', subjects: ['group:dba'], connections: ['*'], verbs: ['connect', 'exec', 'review'] },
    {
      name: 'developers',
      subjects: ['group:developers'],
      connections: ['tag:env=dev'],
      verbs: ['connect', 'exec'],
    },
    { name: 'auditors', subjects: ['group:auditors'], connections: ['*'], verbs: ['audit:read'] },
  ],
  delegation: { maxDepth: 2 },
};
