import { hostname, userInfo } from 'node:os';
import type { GatewayConfig } from '@tollgate/config';
import { lockOutProblem, parsePolicy, withAdministratorRole } from '@tollgate/policy';
import { openStore } from '@tollgate/store';
import { AuditCommitter } from './modules/audit/audit-committer';
import { BUILT_IN_POLICY_YAML, QUICKSTART_POLICY_YAML } from './modules/identity/rbac/default-policies';
import { storePolicyVersion } from './modules/identity/rbac/store-policy-version';
import { enabledPrincipals } from './modules/identity/subjects/enabled-principals';

/** `tollgate admin recover` cannot help: the message says why and what to do. */
export class RecoveryRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecoveryRefusedError';
  }
}

export interface RecoveredAdministrator {
  readonly version: number;
  readonly role: string;
  readonly previousVersion: number | null;
}

/**
 * Break-glass for a store nobody can administer any more: run on the gateway's host with its
 * configuration (the same DATABASE_URL or data directory), it applies the active policy plus a role
 * granting `admin` to `subject` as a new version, and records that in the audit log. Access to the
 * store is the credential: whoever has it could change the store anyway; the record says who did.
 */
export async function recoverAdministrator(
  config: Pick<GatewayConfig, 'databaseUrl' | 'dataDir' | 'devIdp'>,
  subject: string,
): Promise<RecoveredAdministrator> {
  if (!/^(user|group|sa):\S+$/.test(subject)) {
    throw new RecoveryRefusedError(
      `--subject: expected user:<id or e-mail>, group:<name> or sa:<name>, got ${JSON.stringify(subject)}`,
    );
  }
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const active = await store.prisma.policyVersion.findFirst({
      where: { active: true },
      orderBy: { version: 'desc' },
    });
    const role = `recovered-admin-${new Date()
      .toISOString()
      .replace(/[^0-9]/g, '')
      .slice(0, 14)}`;
    const base = active?.document ?? (config.devIdp ? QUICKSTART_POLICY_YAML : BUILT_IN_POLICY_YAML);
    const document = withAdministratorRole(base, role, subject);
    const parsed = parsePolicy(document, 'recovered-policy.yaml');
    if (!parsed.ok) {
      throw new RecoveryRefusedError(
        `the active policy (version ${active?.version ?? 'built-in'}) with the recovery role does not validate: ${parsed.errors.map((e) => e.message).join('; ')}`,
      );
    }
    if (lockOutProblem(parsed.policy, await enabledPrincipals(store.prisma))) {
      throw new RecoveryRefusedError(
        `${subject} is not an enabled user or service account (nor a group one of them is in), so granting it admin would still leave nobody able to administer; name one that exists (see the users and service_accounts tables)`,
      );
    }
    const operator = `local:${userInfo().username}@${hostname()}`;
    const version = await storePolicyVersion(store.prisma, {
      document,
      author: operator,
      comment: `tollgate admin recover --subject ${subject}`,
    });
    const committer = new AuditCommitter(store.sql);
    await committer.append({
      subject: operator,
      action: 'admin:recover',
      target: `policy:v${version}`,
      decision: 'allow',
      reason: `admin granted to ${subject} by role ${role} (break-glass on the gateway host)`,
      payload: { subject, role, policyVersion: version, previousVersion: active?.version ?? null },
    });
    return { version, role, previousVersion: active?.version ?? null };
  } finally {
    await store.close();
  }
}
