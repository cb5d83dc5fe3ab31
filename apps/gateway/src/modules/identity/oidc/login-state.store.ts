import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { isRecordNotFound, isUniqueViolation } from '../../store/prisma-errors';
import { StoreService } from '../../store/store.service';

export type LoginStateKind =
  | 'transaction'
  | 'code'
  | 'device'
  | 'saml-transaction'
  | 'saml-assertion'
  | 'gateway-device'
  | 'gateway-device-user-code';

/**
 * Logins in progress, in the store so any replica can continue what another started. Only the
 * SHA-256 of the handed-out value is the key, so the table holds nothing a caller could replay.
 */
@Injectable()
export class LoginStateStore {
  constructor(private readonly store: StoreService) {}

  async put(kind: LoginStateKind, key: string, payload: object, ttlMs: number): Promise<void> {
    const now = Date.now();
    await this.store.prisma.loginState.deleteMany({ where: { expiresAt: { lt: new Date(now) } } });
    await this.store.prisma.loginState.create({
      data: {
        keyHash: hash(kind, key),
        kind,
        payload: payload,
        expiresAt: new Date(now + ttlMs),
      },
    });
  }

  /**
   * Records `key` unless it is already there: true for the first caller, false for every later one
   * (on any replica: the store's primary key decides). Used to spend one-time values.
   */
  async claim(kind: LoginStateKind, key: string, payload: object, ttlMs: number): Promise<boolean> {
    try {
      await this.put(kind, key, payload, ttlMs);
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Replaces the payload of a live entry (its expiry stays); false when it is gone or expired. */
  async replace(kind: LoginStateKind, key: string, payload: object): Promise<boolean> {
    const { count } = await this.store.prisma.loginState.updateMany({
      where: { keyHash: hash(kind, key), expiresAt: { gt: new Date() } },
      data: { payload },
    });
    return count === 1;
  }

  /** Reads and deletes in one step: of two concurrent takers, one gets it. */
  async take<T>(kind: LoginStateKind, key: string): Promise<T | undefined> {
    try {
      const row = await this.store.prisma.loginState.delete({ where: { keyHash: hash(kind, key) } });
      return row.expiresAt.getTime() > Date.now() ? (row.payload as T) : undefined;
    } catch (error) {
      if (isRecordNotFound(error)) return undefined;
      throw error;
    }
  }

  async peek<T>(kind: LoginStateKind, key: string): Promise<T | undefined> {
    const row = await this.store.prisma.loginState.findUnique({ where: { keyHash: hash(kind, key) } });
    return row && row.expiresAt.getTime() > Date.now() ? (row.payload as T) : undefined;
  }

  async remove(kind: LoginStateKind, key: string): Promise<void> {
    await this.store.prisma.loginState.deleteMany({ where: { keyHash: hash(kind, key) } });
  }
}

function hash(kind: LoginStateKind, key: string): string {
  return createHash('sha256').update(`${kind}:${key}`).digest('hex');
}
