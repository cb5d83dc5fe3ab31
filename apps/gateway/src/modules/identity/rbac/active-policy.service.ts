import { Inject, Injectable } from '@nestjs/common';
import { lockOutProblem, parsePolicy, type Policy } from '@tollgate/policy';
import type { FactCache } from '../../store/fact-cache';
import { StoreService } from '../../store/store.service';
import { IdentityOptionsToken, type IdentityOptions } from '../identity-options';
import { enabledPrincipals } from '../subjects/enabled-principals';
import { policyLockOutError, policyValidationError } from './policy-validation.error';
import { storePolicyVersion } from './store-policy-version';
import {
  BUILT_IN_POLICY,
  BUILT_IN_POLICY_YAML,
  QUICKSTART_POLICY,
  QUICKSTART_POLICY_YAML,
} from './default-policies';

export interface ActivePolicy {
  readonly policy: Policy;
  /** The stored version, or null for the built-in (or quickstart) default. */
  readonly version: number | null;
  readonly source: 'built-in' | 'quickstart' | 'stored';
  readonly document: string;
}

/**
 * The policy RBAC decides by: the active stored version, else the built-in default (only group
 * tollgate-admins may do anything), or the quickstart policy when the dev IdP runs. Stored documents
 * are parsed by @tollgate/policy; a version is parsed once and cached.
 */
@Injectable()
export class ActivePolicyService {
  private cached: ActivePolicy | undefined;
  private readonly appliedListeners = new Set<(applied: ActivePolicy) => void>();
  /** Which version is active, until a policy version changes (an apply through any replica). */
  private readonly active: FactCache<ActivePolicy>;

  constructor(
    private readonly store: StoreService,
    @Inject(IdentityOptionsToken) private readonly options: IdentityOptions,
  ) {
    this.active = store.facts({ tables: ['policy_versions'], maxEntries: 1 });
    // A version made active through another replica (or while the change feed was down) is in force
    // here too: its listeners run as for an apply here (agents' bundles, live sessions it revokes).
    store.onChange(['policy_versions'], () => {
      this.noticeActive().catch(() => undefined);
    });
    // The version in force at start: a later one heard is a change.
    this.noticeActive().catch(() => undefined);
  }

  /** The version whose listeners have run on this replica (undefined: none noticed yet). */
  private announced: { readonly version: number | null } | undefined;

  private async noticeActive(): Promise<void> {
    const now = await this.current();
    if (this.announced === undefined) {
      this.announced = { version: now.version };
      return;
    }
    if (this.announced.version === now.version) return;
    this.announced = { version: now.version };
    for (const listener of this.appliedListeners) listener(now);
  }

  async current(): Promise<ActivePolicy> {
    return (await this.active.get('active', () => this.read()))!;
  }

  private async read(): Promise<ActivePolicy> {
    const row = await this.store.prisma.policyVersion.findFirst({
      where: { active: true },
      orderBy: { version: 'desc' },
      select: { version: true },
    });
    if (!row) return this.fallback();
    if (this.cached?.version === row.version) return this.cached;
    const stored = await this.store.prisma.policyVersion.findUniqueOrThrow({
      where: { version: row.version },
    });
    const parsed = parsePolicy(stored.document, `policy-v${stored.version}.yaml`);
    // A stored version was validated when applied; if it no longer parses, fail closed (deny all).
    const policy: Policy = parsed.ok ? parsed.policy : { ...BUILT_IN_POLICY, roles: [] };
    this.cached = { policy, version: stored.version, source: 'stored', document: stored.document };
    return this.cached;
  }

  /** Called after every apply (e.g. to push the new version to agents). */
  onApplied(listener: (applied: ActivePolicy) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  /**
   * Why `policy` may not become active: it would leave no enabled user or service account able to
   * administer (so nobody could apply the next version). Null when it may.
   */
  async lockOut(policy: Policy): Promise<string | null> {
    return lockOutProblem(policy, await enabledPrincipals(this.store.prisma));
  }

  /**
   * Validates and stores a new version and makes it active; every path (API, CLI, console, restore)
   * comes here, so none can apply a version that locks every administrator out.
   */
  async apply(
    document: string,
    author: string,
    comment?: string,
    fileName = 'policy.yaml',
  ): Promise<ActivePolicy> {
    const parsed = parsePolicy(document, fileName);
    if (!parsed.ok) throw policyValidationError(parsed.errors);
    const lockOut = await this.lockOut(parsed.policy);
    if (lockOut) throw policyLockOutError(lockOut);
    const version = await storePolicyVersion(this.store.prisma, { document, author, comment });
    // In force here at once; the store's announcement tells the other replicas.
    this.active.clear();
    this.cached = { policy: parsed.policy, version, source: 'stored', document };
    this.announced = { version };
    for (const listener of this.appliedListeners) listener(this.cached);
    return this.cached;
  }

  private fallback(): ActivePolicy {
    return this.options.devIdp
      ? { policy: QUICKSTART_POLICY, version: null, source: 'quickstart', document: QUICKSTART_POLICY_YAML }
      : { policy: BUILT_IN_POLICY, version: null, source: 'built-in', document: BUILT_IN_POLICY_YAML };
  }
}
