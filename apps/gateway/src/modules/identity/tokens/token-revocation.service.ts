import { Injectable } from '@nestjs/common';
import type { FactCache } from '../../store/fact-cache';
import { StoreService } from '../../store/store.service';

/** Revokes a token grant and every grant exchanged from it, at any depth. */
@Injectable()
export class TokenRevocationService {
  /** Grants found usable (with their ancestors), until a token grant changes. */
  private readonly usable: FactCache<true>;

  constructor(private readonly store: StoreService) {
    this.usable = store.facts({ tables: ['token_grants'], maxEntries: 50_000 });
  }

  /** Returns how many grants were newly revoked (the token and its descendants). */
  async revoke(jti: string): Promise<number> {
    return this.revoking(this.store.prisma.$executeRaw`
      WITH RECURSIVE tree AS (
        SELECT jti FROM token_grants WHERE jti = ${jti}
        UNION
        SELECT g.jti FROM token_grants g JOIN tree t ON g.parent_jti = t.jti
      )
      UPDATE token_grants SET revoked_at = now()
      WHERE jti IN (SELECT jti FROM tree) AND revoked_at IS NULL`);
  }

  /** Revokes every access token issued in a login (refresh family) and their descendants. */
  async revokeLogin(refreshFamilyId: string): Promise<number> {
    return this.revoking(this.store.prisma.$executeRaw`
      WITH RECURSIVE tree AS (
        SELECT jti FROM token_grants WHERE refresh_family_id = ${refreshFamilyId}::uuid
        UNION
        SELECT g.jti FROM token_grants g JOIN tree t ON g.parent_jti = t.jti
      )
      UPDATE token_grants SET revoked_at = now()
      WHERE jti IN (SELECT jti FROM tree) AND revoked_at IS NULL`);
  }

  /** Why the grant or one of its ancestors is not usable, or undefined when it is. */
  async revocationProblem(jti: string): Promise<string | undefined> {
    let problem: string | undefined;
    await this.usable.get(jti, async () => {
      problem = await this.readRevocationProblem(jti);
      return problem === undefined ? true : undefined;
    });
    return problem;
  }

  /**
   * This replica forgets the grants it kept once a revocation has committed, without waiting for
   * the store's announcement (which tells the other replicas).
   */
  private async revoking(revocation: Promise<number>): Promise<number> {
    try {
      return await revocation;
    } finally {
      this.usable.clear();
    }
  }

  private async readRevocationProblem(jti: string): Promise<string | undefined> {
    const rows = await this.store.prisma.$queryRaw<{ jti: string; revoked: boolean; depth: number }[]>`
      WITH RECURSIVE chain AS (
        SELECT jti, parent_jti, revoked_at, 0 AS depth FROM token_grants WHERE jti = ${jti}
        UNION ALL
        SELECT g.jti, g.parent_jti, g.revoked_at, c.depth + 1
        FROM token_grants g JOIN chain c ON g.jti = c.parent_jti
        WHERE c.depth < 32
      )
      SELECT jti, (revoked_at IS NOT NULL) AS revoked, depth FROM chain ORDER BY depth`;
    if (rows.length === 0) return 'the token was not issued by this gateway (unknown jti)';
    const revoked = rows.find((r) => r.revoked);
    if (!revoked) return undefined;
    return Number(revoked.depth) === 0
      ? 'the token has been revoked'
      : 'the token it was exchanged from has been revoked';
  }
}
