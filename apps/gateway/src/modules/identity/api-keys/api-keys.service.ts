import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { ApiKey } from '@tollgate/store';
import { StoreService } from '../../store/store.service';
import { newSecret, secretHash } from '../secrets';

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
@Injectable()
export class ApiKeysService {
  constructor(private readonly store: StoreService) {}

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

  async revoke(prefix: string): Promise<void> {
    await this.store.prisma.apiKey.updateMany({
      where: { prefix, revokedAt: null },
      data: { revokedAt: new Date() },
    });
  }

  async check(key: string): Promise<ApiKeyCheck> {
    const row = await this.store.prisma.apiKey.findUnique({ where: { hash: secretHash(key) } });
    if (!row) return { ok: false, reason: 'unknown API key' };
    if (row.revokedAt) return { ok: false, reason: `API key ${row.prefix} has been revoked` };
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) {
      return { ok: false, reason: `API key ${row.prefix} has expired` };
    }
    await this.store.prisma.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
    return { ok: true, key: present(row) };
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
