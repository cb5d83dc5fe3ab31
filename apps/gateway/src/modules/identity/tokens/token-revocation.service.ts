import { Injectable } from '@nestjs/common';
import type { FactCache } from '../../store/fact-cache';
import { StoreService } from '../../store/store.service';

/** The token id an exchange records for an API key presented as its actor token. */
export const API_KEY_TOKEN_ID_MARK = 'apikey:';

/**
 * How many links up a token's ancestry is followed. Exchanges are bounded by the policy's
 * `delegation.max_depth`; an ancestry longer than this cannot be checked, and the token is refused.
 */
export const MAX_ANCESTRY_DEPTH = 64;

interface AncestorRow {
  jti: string;
  parent_jti: string | null;
  actor_token_id: string | null;
  revoked: boolean;
  depth: number;
}

/**
 * Revokes a token grant and every grant derived from it, at any depth: the grants exchanged from it
 * as the subject token (`parent_jti`) and those obtained with it as the actor token
 * (`actor_token_id`, RFC 8693 delegation), then theirs, and so on. A grant is usable only while its
 * whole ancestry (both kinds of link) is known and unrevoked.
 */
@Injectable()
export class TokenRevocationService {
  /** Grants found usable (with their ancestors), until a token grant or an API key changes. */
  private readonly usable: FactCache<true>;

  constructor(private readonly store: StoreService) {
    this.usable = store.facts({ tables: ['token_grants', 'api_keys'], maxEntries: 50_000 });
  }

  /**
   * Revokes the grant `tokenId` (a jti; or `apikey:<prefix>`, which has no grant of its own) and
   * every grant derived from it. Returns how many grants were newly revoked.
   */
  async revoke(tokenId: string): Promise<number> {
    return this.revoking(this.store.prisma.$executeRaw`
      WITH RECURSIVE tree AS (
        SELECT jti FROM token_grants WHERE jti = ${tokenId} OR actor_token_id = ${tokenId}
        UNION
        SELECT g.jti FROM token_grants g JOIN tree t ON g.parent_jti = t.jti OR g.actor_token_id = t.jti
      )
      UPDATE token_grants SET revoked_at = now()
      WHERE jti IN (SELECT jti FROM tree) AND revoked_at IS NULL`);
  }

  /** Revokes every access token issued in a login (refresh family) and everything derived from them. */
  async revokeLogin(refreshFamilyId: string): Promise<number> {
    return this.revoking(this.store.prisma.$executeRaw`
      WITH RECURSIVE tree AS (
        SELECT jti FROM token_grants WHERE refresh_family_id = ${refreshFamilyId}::uuid
        UNION
        SELECT g.jti FROM token_grants g JOIN tree t ON g.parent_jti = t.jti OR g.actor_token_id = t.jti
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

  /**
   * Reads the grant's whole ancestry (subject tokens and actor tokens, transitively). Fails closed:
   * an ancestor that is named but cannot be found, an ancestry deeper than MAX_ANCESTRY_DEPTH, or an
   * API key actor that is unknown, revoked or expired makes the token unusable.
   */
  private async readRevocationProblem(jti: string): Promise<string | undefined> {
    const rows = await this.store.prisma.$queryRaw<AncestorRow[]>`
      WITH RECURSIVE chain AS (
        SELECT jti, parent_jti, actor_token_id, revoked_at, 0 AS depth FROM token_grants WHERE jti = ${jti}
        UNION
        SELECT g.jti, g.parent_jti, g.actor_token_id, g.revoked_at, c.depth + 1
        FROM token_grants g JOIN chain c ON g.jti = c.parent_jti OR g.jti = c.actor_token_id
        WHERE c.depth < ${MAX_ANCESTRY_DEPTH}
      )
      SELECT jti, parent_jti, actor_token_id, (revoked_at IS NOT NULL) AS revoked, depth
      FROM chain ORDER BY depth`;
    if (rows.length === 0) return 'the token was not issued by this gateway (unknown jti)';
    const found = new Set(rows.map((r) => r.jti));
    const apiKeys = new Set<string>();
    for (const row of rows) {
      for (const [link, id] of [
        ['exchanged from', row.parent_jti],
        ['obtained with the actor token', row.actor_token_id],
      ] as const) {
        if (id === null) continue;
        if (id.startsWith(API_KEY_TOKEN_ID_MARK)) {
          apiKeys.add(id.slice(API_KEY_TOKEN_ID_MARK.length));
        } else if (!found.has(id)) {
          return Number(row.depth) >= MAX_ANCESTRY_DEPTH
            ? `the token's ancestry is deeper than ${MAX_ANCESTRY_DEPTH} and cannot be checked`
            : `the token's ancestry cannot be checked: token ${id} it was ${link} is not on record`;
        }
      }
    }
    // An ancestor's revocation is named first: it is why the token itself was revoked with it.
    const revoked = new Set(rows.filter((r) => r.revoked && r.jti !== jti).map((r) => r.jti));
    if (revoked.size > 0) {
      const viaActor = rows.some((r) => r.actor_token_id !== null && revoked.has(r.actor_token_id));
      return viaActor
        ? 'a token it was derived from (as the actor token, directly or further up) has been revoked'
        : 'the token it was exchanged from has been revoked';
    }
    if (rows.some((r) => r.jti === jti && r.revoked)) return 'the token has been revoked';
    if (apiKeys.size > 0) {
      const keys = await this.store.prisma.apiKey.findMany({
        where: { prefix: { in: [...apiKeys] } },
        select: { prefix: true, revokedAt: true, expiresAt: true },
      });
      const now = Date.now();
      for (const prefix of apiKeys) {
        const key = keys.find((k) => k.prefix === prefix);
        if (!key) return `the token's ancestry cannot be checked: API key ${prefix} is not on record`;
        if (key.revokedAt) return `the API key it was obtained with (${prefix}) has been revoked`;
        if (key.expiresAt && key.expiresAt.getTime() <= now) {
          return `the API key it was obtained with (${prefix}) has expired`;
        }
      }
    }
    return undefined;
  }
}
