import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { StoreService } from '../../store/store.service';
import { IdentityOptionsToken, type IdentityOptions } from '../identity-options';
import { SecretBox } from './secret-box';

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
    private readonly box: SecretBox,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.sealStoredKeys();
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
      await tx.signingKey.create({
        data: { kid, alg: SIGNING_ALG, publicJwk, privateJwk: this.stored(kid, privateJwk), createdAt: now },
      });
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
        signKey: row.retiredAt
          ? undefined
          : await importJWK(this.privateJwk(row.kid, row.privateJwk), row.alg),
        createdAt: row.createdAt,
      };
      keys.set(row.kid, loaded);
      if (!row.retiredAt && !active) active = loaded;
    }
    this.keys = keys;
    this.active = active;
  }

  /** A private key as stored: sealed under the store key when one is set (see SecretBox). */
  private stored(kid: string, privateJwk: JWK): JWK | { sealed: string } {
    if (!this.box.sealing) return privateJwk;
    return { sealed: this.box.seal(JSON.stringify(privateJwk), `signing-key:${kid}`) };
  }

  private privateJwk(kid: string, stored: unknown): JWK {
    const sealed = (stored as { sealed?: unknown } | null)?.sealed;
    if (typeof sealed !== 'string') return stored as JWK;
    return JSON.parse(this.box.open(sealed, `signing-key:${kid}`)) as JWK;
  }

  /**
   * With a store key set, private keys stored before it (in plain text) are sealed now; every
   * sealed key is also opened once, so a wrong or missing key stops the start-up with a clear error
   * instead of failing the first login.
   */
  private async sealStoredKeys(): Promise<void> {
    const rows = await this.store.prisma.signingKey.findMany({ select: { kid: true, privateJwk: true } });
    for (const row of rows) {
      const privateJwk = this.privateJwk(row.kid, row.privateJwk);
      const plain = typeof (row.privateJwk as { sealed?: unknown } | null)?.sealed !== 'string';
      if (plain && this.box.sealing) {
        await this.store.prisma.signingKey.update({
          where: { kid: row.kid },
          data: { privateJwk: this.stored(row.kid, privateJwk) },
        });
      }
    }
  }
}
