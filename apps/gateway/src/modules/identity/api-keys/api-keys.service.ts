import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { ApiKey } from '@tollgate/store';
import type { FactCache } from '../../store/fact-cache';
import { StoreService } from '../../store/store.service';
import { newSecret, secretHash } from '../secrets';
import { API_KEY_TOKEN_ID_MARK, TokenRevocationService } from '../tokens/token-revocation.service';

export const API_KEY_MARK = 'tgk_';

export interface ApiKeyView {
  readonly name: string;
  readonly prefix: string;
  readonly subject: string;
  readonly scopes: readonly string[];
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly lastUsedAt: string | null;
}

export type ApiKeyCheck =
  { readonly ok: true; readonly key: ApiKeyView } | { readonly ok: false; readonly reason: string };

/**
 * API keys: `tgk_<prefix>_<secret>`. The whole key is shown once; only its hash is stored; the
 * prefix stays visible so an operator can recognise and revoke it.
 */
/** A key's last use is written at most this often (it is shown to people, not decided by). */
const LAST_USED_RESOLUTION_MS = 60_000;

@Injectable()
export class ApiKeysService {
  /** Keys by hash as stored, until a key changes (its last use excepted: no announcement). */
  private readonly byHash: FactCache<ApiKey>;
  /** When this replica last wrote each key's last use. */
  private readonly lastUseWritten = new Map<string, number>();

  constructor(
    private readonly store: StoreService,
    private readonly revocation: TokenRevocationService,
  ) {
    this.byHash = store.facts({ tables: ['api_keys'], maxEntries: 20_000 });
  }

  static looksLikeApiKey(token: string): boolean {
    return token.startsWith(API_KEY_MARK);
  }

  async create(input: {
    name: string;
    subject: string;
    scopes: readonly string[];
    expiresAt: Date | null;
  }): Promise<{ key: string; view: ApiKeyView }> {
    const prefix = randomBytes(6).toString('hex');
    const key = `${API_KEY_MARK}${prefix}_${newSecret()}`;
    const row = await this.store.prisma.apiKey.create({
      data: {
        name: input.name,
        prefix,
        hash: secretHash(key),
        subject: input.subject,
        scopes: [...input.scopes],
        expiresAt: input.expiresAt,
      },
    });
    return { key, view: present(row) };
  }

  async list(subject?: string): Promise<ApiKeyView[]> {
    const rows = await this.store.prisma.apiKey.findMany({
      where: subject ? { subject } : {},
      orderBy: { createdAt: 'asc' },
    });
    return rows.map(present);
  }

  async find(prefix: string): Promise<ApiKeyView | undefined> {
    const row = await this.store.prisma.apiKey.findUnique({ where: { prefix } });
    return row ? present(row) : undefined;
  }

  /** Revokes the key and every token obtained with it as the actor token (and their descendants). */
  async revoke(prefix: string): Promise<void> {
    try {
      await this.store.prisma.apiKey.updateMany({
        where: { prefix, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      await this.revocation.revoke(`${API_KEY_TOKEN_ID_MARK}${prefix}`);
    } finally {
      // Counts here at once; the store's announcement tells the other replicas.
      this.byHash.clear();
    }
  }

  async check(key: string): Promise<ApiKeyCheck> {
    const hash = secretHash(key);
    const row = await this.byHash.get(
      hash,
      async () => (await this.store.prisma.apiKey.findUnique({ where: { hash } })) ?? undefined,
    );
    if (!row) return { ok: false, reason: 'unknown API key' };
    if (row.revokedAt) return { ok: false, reason: `API key ${row.prefix} has been revoked` };
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) {
      return { ok: false, reason: `API key ${row.prefix} has expired` };
    }
    this.noteUse(row);
    return { ok: true, key: present(row) };
  }

  /** Records the key's last use (to the minute) without holding up the caller. */
  private noteUse(row: ApiKey): void {
    const now = Date.now();
    const written = this.lastUseWritten.get(row.id) ?? row.lastUsedAt?.getTime() ?? 0;
    if (now - written < LAST_USED_RESOLUTION_MS) return;
    if (this.lastUseWritten.size >= 20_000) this.lastUseWritten.clear();
    this.lastUseWritten.set(row.id, now);
    void this.store.prisma.apiKey
      .update({ where: { id: row.id }, data: { lastUsedAt: new Date(now) } })
      .catch(() => undefined);
  }
}

function present(row: ApiKey): ApiKeyView {
  return {
    name: row.name,
    prefix: row.prefix,
    subject: row.subject,
    scopes: Array.isArray(row.scopes) ? row.scopes.filter((s): s is string => typeof s === 'string') : [],
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}
