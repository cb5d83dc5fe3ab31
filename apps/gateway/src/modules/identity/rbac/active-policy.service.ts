import { Inject, Injectable } from '@nestjs/common';
import { IdentityOptionsToken, type IdentityOptions } from '../identity-options';
import { BUILT_IN_POLICY, QUICKSTART_POLICY } from './default-policies';
import type { RbacPolicy } from './rbac-policy';

export interface ActivePolicy {
  readonly policy: RbacPolicy;
  /** The stored version, or null for the built-in (or quickstart) default. */
  readonly version: number | null;
  readonly source: 'built-in' | 'quickstart' | 'stored';
}

/**
 * The policy RBAC decides by. Until a policy version is stored, the built-in default (only group
 * tollgate-admins may do anything), or the quickstart policy when the dev IdP runs.
 */
@Injectable()
export class ActivePolicyService {
  constructor(@Inject(IdentityOptionsToken) private readonly options: IdentityOptions) {}

  async current(): Promise<ActivePolicy> {
    return this.options.devIdp
      ? { policy: QUICKSTART_POLICY, version: null, source: 'quickstart' }
      : { policy: BUILT_IN_POLICY, version: null, source: 'built-in' };
  }
}
