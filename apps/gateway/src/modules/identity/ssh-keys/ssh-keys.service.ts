import { Injectable } from '@nestjs/common';
import { parseUserPublicKey, PublicKeyFormatError, type UserPublicKey } from '@tollgate/protocol-ssh';
import type { SshKey } from '@tollgate/store';
import { ConflictError, UnauthenticatedError, ValidationError } from '../../../common/errors';
import { AuditWriter } from '../../audit/audit-writer';
import type { FactCache } from '../../store/fact-cache';
import { StoreService } from '../../store/store.service';
import type { Principal } from '../principal';
import { SubjectDirectoryService } from '../subjects/subject-directory.service';

export interface SshKeyView {
  readonly id: string;
  readonly name: string;
  readonly subject: string;
  readonly algorithm: string;
  /** `SHA256:...`, as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
  /** `algorithm base64`, the key as registered (without its comment). */
  readonly publicKey: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
}

/** A key's last use is written at most this often (shown to people, not decided by). */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Users' (and service accounts') OpenSSH public keys, for public-key login at the gateway's SSH
 * listener. A key is registered once (its fingerprint is unique across everyone), belongs to the
 * subject that registered it, and logs in with the scopes that subject's login had then; removing
 * it revokes it at once (the store announces the change to every replica).
 */
@Injectable()
export class SshKeysService {
  /** Keys by fingerprint as stored, until one is added or removed. */
  private readonly byFingerprint: FactCache<SshKey>;
  private readonly lastUseWritten = new Map<string, number>();

  constructor(
    private readonly store: StoreService,
    private readonly subjects: SubjectDirectoryService,
    private readonly audit: AuditWriter,
  ) {
    this.byFingerprint = store.facts({ tables: ['ssh_keys'], maxEntries: 20_000 });
  }

  /** Registers `text` (one OpenSSH public key line) to `subject`; ValidationError or ConflictError. */
  async add(input: {
    subject: string;
    name: string | undefined;
    publicKey: string;
    scopes: readonly string[];
  }): Promise<SshKeyView> {
    let key: UserPublicKey;
    try {
      key = parseUserPublicKey(input.publicKey);
    } catch (error) {
      if (error instanceof PublicKeyFormatError)
        throw new ValidationError([{ field: 'publicKey', message: error.message }]);
      throw error;
    }
    const name = (input.name ?? key.comment).trim().slice(0, 100) || key.algorithm;
    const existing = await this.store.prisma.sshKey.findUnique({ where: { fingerprint: key.fingerprint } });
    if (existing) throw duplicate(key.fingerprint, existing.subject === input.subject);
    try {
      const row = await this.store.prisma.sshKey.create({
        data: {
          subject: input.subject,
          name,
          algorithm: key.algorithm,
          publicKey: key.text,
          fingerprint: key.fingerprint,
          scopes: [...input.scopes],
        },
      });
      return present(row);
    } catch (error) {
      // Registered by someone else between the look-up and the insert (unique fingerprint).
      if ((error as { code?: string }).code === 'P2002') throw duplicate(key.fingerprint, false);
      throw error;
    } finally {
      this.byFingerprint.clear();
    }
  }

  async list(subject?: string): Promise<SshKeyView[]> {
    const rows = await this.store.prisma.sshKey.findMany({
      where: subject ? { subject } : {},
      orderBy: { createdAt: 'asc' },
    });
    return rows.map(present);
  }

  async find(id: string): Promise<SshKeyView | undefined> {
    if (!UUID.test(id)) return undefined;
    const row = await this.store.prisma.sshKey.findUnique({ where: { id } });
    return row ? present(row) : undefined;
  }

  async remove(id: string): Promise<void> {
    try {
      await this.store.prisma.sshKey.deleteMany({ where: { id } });
    } finally {
      // Counts here at once; the store's announcement tells the other replicas.
      this.byFingerprint.clear();
    }
  }

  /** Whether a key with this fingerprint is registered (to anyone, enabled or not). */
  async isRegistered(fingerprint: string): Promise<boolean> {
    return (await this.lookup(fingerprint)) !== undefined;
  }

  /**
   * The principal a login with this key (its signature already checked) acts as: the key's owner,
   * with the owner's current groups and the key's scopes. A removed key, or an owner that is deleted
   * or disabled, is refused (UnauthenticatedError), and the refusal is audited.
   */
  async authenticate(fingerprint: string): Promise<Principal> {
    await this.store.changesSettled();
    const row = await this.lookup(fingerprint);
    const refuse = async (reason: string, subject: string) => {
      await this.audit
        .record({
          subject,
          action: 'authenticate',
          target: `sshkey:${fingerprint}`,
          decision: 'deny',
          reason,
          payload: { method: 'publickey', fingerprint },
        })
        .catch(() => undefined);
      return new UnauthenticatedError(reason);
    };
    if (!row) throw await refuse(`the SSH key ${fingerprint} is not registered`, 'anonymous');
    const state = await this.subjects.current(row.subject);
    if (!state.ok) throw await refuse(state.reason, row.subject);
    this.noteUse(row);
    return {
      subject: row.subject,
      displayName: `${state.displayName} (SSH key ${fingerprint})`,
      ...(state.email ? { email: state.email } : {}),
      groups: state.groups,
      scopes: Array.isArray(row.scopes) ? row.scopes.filter((s): s is string => typeof s === 'string') : [],
      actorChain: [],
      tokenId: `sshkey:${row.id}`,
      expiresAt: new Date(8.64e15),
    };
  }

  private lookup(fingerprint: string): Promise<SshKey | undefined> {
    return this.byFingerprint.get(
      fingerprint,
      async () => (await this.store.prisma.sshKey.findUnique({ where: { fingerprint } })) ?? undefined,
    );
  }

  /** Records the key's last use (to the minute) without holding up the login. */
  private noteUse(row: SshKey): void {
    const now = Date.now();
    const written = this.lastUseWritten.get(row.id) ?? row.lastUsedAt?.getTime() ?? 0;
    if (now - written < LAST_USED_RESOLUTION_MS) return;
    if (this.lastUseWritten.size >= 20_000) this.lastUseWritten.clear();
    this.lastUseWritten.set(row.id, now);
    void this.store.prisma.sshKey
      .updateMany({ where: { id: row.id }, data: { lastUsedAt: new Date(now) } })
      .catch(() => undefined);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function duplicate(fingerprint: string, yours: boolean): ConflictError {
  return new ConflictError(
    yours
      ? `the SSH key ${fingerprint} is already registered to you`
      : `the SSH key ${fingerprint} is already registered to another user; a key can belong to one user only`,
  );
}

function present(row: SshKey): SshKeyView {
  return {
    id: row.id,
    name: row.name,
    subject: row.subject,
    algorithm: row.algorithm,
    fingerprint: row.fingerprint,
    publicKey: row.publicKey,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}
