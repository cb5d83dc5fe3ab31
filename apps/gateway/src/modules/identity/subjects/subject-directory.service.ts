import { Injectable } from '@nestjs/common';
import type { FactCache } from '../../store/fact-cache';
import { StoreService } from '../../store/store.service';

export type SubjectState =
  | {
      readonly ok: true;
      readonly displayName: string;
      /** A person's e-mail from their IdP (absent for service accounts and people without one). */
      readonly email?: string;
      readonly groups: readonly string[];
    }
  | { readonly ok: false; readonly reason: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The current state of a subject in Tollgate's store: a deleted or disabled user or service account
 * loses access at once, and a group membership removed in the store is no longer honoured.
 */
@Injectable()
export class SubjectDirectoryService {
  /** Subjects found enabled, until a user, group, membership or service account changes. */
  private readonly enabled: FactCache<SubjectState>;

  constructor(private readonly store: StoreService) {
    this.enabled = store.facts({
      tables: ['users', 'groups', 'memberships', 'service_accounts'],
      maxEntries: 20_000,
    });
  }

  async current(subject: string): Promise<SubjectState> {
    let state: SubjectState | undefined;
    const kept = await this.enabled.get(subject, async () => {
      state = await this.read(subject);
      return state.ok ? state : undefined;
    });
    return kept ?? state!;
  }

  private async read(subject: string): Promise<SubjectState> {
    if (subject.startsWith('user:')) {
      const id = subject.slice('user:'.length);
      if (!UUID.test(id)) return { ok: false, reason: `unknown subject "${subject}"` };
      const user = await this.store.prisma.user.findUnique({
        where: { id },
        include: { memberships: { include: { group: true } } },
      });
      if (!user) return { ok: false, reason: `user ${subject} no longer exists` };
      if (user.disabled) return { ok: false, reason: `user ${subject} is disabled` };
      return {
        ok: true,
        displayName: user.email ?? user.displayName ?? subject,
        ...(user.email ? { email: user.email } : {}),
        groups: user.memberships.map((m) => m.group.name).sort(),
      };
    }
    if (subject.startsWith('sa:')) {
      const name = subject.slice('sa:'.length);
      const account = await this.store.prisma.serviceAccount.findUnique({ where: { name } });
      if (!account) return { ok: false, reason: `service account ${subject} no longer exists` };
      if (account.disabled) return { ok: false, reason: `service account ${subject} is disabled` };
      return { ok: true, displayName: account.name, groups: groupsOf(account.groups) };
    }
    return { ok: false, reason: `unknown subject "${subject}"` };
  }
}

function groupsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((g): g is string => typeof g === 'string') : [];
}
