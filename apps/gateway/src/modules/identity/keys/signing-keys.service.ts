import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { StoreService } from '../../store/store.service';
import { IdentityOptionsToken, type IdentityOptions } from '../identity-options';

export const SIGNING_ALG = 'ES256';

type VerifyKey = Awaited<ReturnType<typeof importJWK>>;

interface LoadedKey {
  readonly kid: string;
  readonly publicJwk: JWK;
  readonly verifyKey: VerifyKey;
  readonly signKey?: VerifyKey;
  readonly createdAt: Date;
}

/**
 * The gateway's token signing keys (ES256), kept in the store so every replica and every restart
 * signs and verifies with the same keys. The newest unretired key signs; a replaced key is retired
 * and stays published in the JWKS until every token it signed has expired, so rotation never
 * breaks a token that is still valid.
 */
@Injectable()
export class SigningKeysService implements OnModuleInit {
  private keys = new Map<string, LoadedKey>();
  private active: LoadedKey | undefined;

  constructor(
    private readonly store: StoreService,
    @Inject(IdentityOptionsToken) private readonly options: IdentityOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.reload();
    const age = this.active ? Date.now() - this.active.createdAt.getTime() : Infinity;
    if (age >= this.options.signingKeyRotationSeconds * 1000) await this.rotate();
  }

  /** Creates a new signing key and retires the current one (kept for verification until expiry). */
  async rotate(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const kid = randomUUID();
    const now = new Date();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG };
    await this.store.prisma.$transaction(async (tx) => {
      await tx.signingKey.updateMany({
        where: { retiredAt: null },
        data: {
          retiredAt: now,
          // A retired key verifies tokens it signed; none outlives the longest access token lifetime.
          expiresAt: new Date(now.getTime() + this.options.accessTokenTtlSeconds * 1000 + 60_000),
        },
      });
      await tx.signingKey.create({ data: { kid, alg: SIGNING_ALG, publicJwk, privateJwk, createdAt: now } });
    });
    await this.reload();
    return kid;
  }

  async signingKey(): Promise<{ kid: string; key: VerifyKey }> {
    if (!this.active?.signKey) await this.reload();
    const active = this.active;
    if (!active?.signKey) throw new Error('no active signing key');
    return { kid: active.kid, key: active.signKey };
  }

  /** The key for a token's `kid`; reloads once for keys another replica created. */
  async verificationKey(kid: string): Promise<VerifyKey | undefined> {
    let key = this.keys.get(kid);
    if (!key) {
      await this.reload();
      key = this.keys.get(kid);
    }
    return key?.verifyKey;
  }

  /** The published JWKS: every key that may still have valid tokens. */
  async jwks(): Promise<{ keys: JWK[] }> {
    await this.reload();
    return { keys: [...this.keys.values()].map((k) => k.publicJwk) };
  }

  private async reload(): Promise<void> {
    const now = new Date();
    const rows = await this.store.prisma.signingKey.findMany({
      where: { OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
      orderBy: { createdAt: 'desc' },
    });
    const keys = new Map<string, LoadedKey>();
    let active: LoadedKey | undefined;
    for (const row of rows) {
      const publicJwk = row.publicJwk as JWK;
      const loaded: LoadedKey = {
        kid: row.kid,
        publicJwk,
        verifyKey: await importJWK(publicJwk, row.alg),
        signKey: row.retiredAt ? undefined : await importJWK(row.privateJwk as JWK, row.alg),
        createdAt: row.createdAt,
      };
      keys.set(row.kid, loaded);
      if (!row.retiredAt && !active) active = loaded;
    }
    this.keys = keys;
    this.active = active;
  }
}
