import { Injectable } from '@nestjs/common';
import { StoreService } from '../../store/store.service';

/** A person as an identity provider (OIDC or SAML) describes them at login. */
export interface IdpIdentity {
  /** The OIDC issuer or the SAML IdP entity ID: users are keyed by (issuer, subject). */
  readonly issuer: string;
  readonly subject: string;
  readonly email?: string;
  readonly displayName?: string;
  /** Groups from the IdP (groups claim or attribute); they replace the user's `idp` memberships. */
  readonly groups: readonly string[];
}

export type SyncResult =
  | { readonly ok: true; readonly userId: string }
  | { readonly ok: false; readonly userId?: string; readonly reason: string };

/**
 * Creates or updates the user and their IdP group memberships at each login (OIDC or SAML) and
 * OIDC refresh. Groups the IdP no longer lists are removed; memberships added in Tollgate (`local`)
 * are kept.
 */
@Injectable()
export class SyncUserUseCase {
  constructor(private readonly store: StoreService) {}

  async execute(identity: IdpIdentity): Promise<SyncResult> {
    return this.store.prisma.$transaction(async (tx) => {
      const user = await tx.user.upsert({
        where: { issuer_subject: { issuer: identity.issuer, subject: identity.subject } },
        update: {
          email: identity.email ?? null,
          displayName: identity.displayName ?? null,
          lastLoginAt: new Date(),
        },
        create: {
          issuer: identity.issuer,
          subject: identity.subject,
          email: identity.email ?? null,
          displayName: identity.displayName ?? null,
          lastLoginAt: new Date(),
        },
      });
      if (user.disabled)
        return { ok: false, userId: user.id, reason: `user user:${user.id} is disabled in Tollgate` };
      const groupIds: string[] = [];
      for (const name of new Set(identity.groups)) {
        const group = await tx.group.upsert({ where: { name }, update: {}, create: { name } });
        groupIds.push(group.id);
      }
      await tx.membership.deleteMany({
        where: { userId: user.id, source: 'idp', groupId: { notIn: groupIds } },
      });
      for (const groupId of groupIds) {
        await tx.membership.upsert({
          where: { userId_groupId: { userId: user.id, groupId } },
          update: {},
          create: { userId: user.id, groupId, source: 'idp' },
        });
      }
      return { ok: true, userId: user.id };
    });
  }
}
