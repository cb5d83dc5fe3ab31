import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ServiceAccount } from '@tollgate/store';
import { ConflictError, NotFoundError } from '../../../common/errors';
import { isUniqueViolation } from '../../store/prisma-errors';
import { StoreService } from '../../store/store.service';
import { IdentityOptionsToken, type IdentityOptions } from '../identity-options';
import { newSecret, secretHash, secretMatches } from '../secrets';

export const BOOTSTRAP_ADMIN = 'bootstrap-admin';
export const ADMIN_GROUP = 'tollgate-admins';

export interface ServiceAccountView {
  readonly name: string;
  readonly subject: string;
  readonly clientId: string;
  readonly description: string | null;
  readonly groups: readonly string[];
  readonly disabled: boolean;
  readonly createdAt: string;
}

export type ClientCheck =
  | { readonly ok: true; readonly account: ServiceAccountView }
  | { readonly ok: false; readonly reason: string };

/**
 * Service accounts: machine identities (`sa:<name>`) that obtain tokens with client credentials.
 * The client id is the account's name; the secret is shown once and only its hash is stored.
 */
@Injectable()
export class ServiceAccountsService implements OnModuleInit {
  private readonly logger = new Logger('service-accounts');

  constructor(
    private readonly store: StoreService,
    @Inject(IdentityOptionsToken) private readonly options: IdentityOptions,
  ) {}

  /** TOLLGATE_BOOTSTRAP_ADMIN_SECRET keeps `bootstrap-admin` (group tollgate-admins) at that secret. */
  async onModuleInit(): Promise<void> {
    const secret = this.options.bootstrapAdminSecret;
    if (!secret) return;
    const data = { clientSecretHash: secretHash(secret), groups: [ADMIN_GROUP], disabled: false };
    await this.store.prisma.serviceAccount.upsert({
      where: { name: BOOTSTRAP_ADMIN },
      update: data,
      create: {
        ...data,
        name: BOOTSTRAP_ADMIN,
        clientId: BOOTSTRAP_ADMIN,
        description: 'set by TOLLGATE_BOOTSTRAP_ADMIN_SECRET',
      },
    });
    this.logger.log(`service account ${BOOTSTRAP_ADMIN} set from TOLLGATE_BOOTSTRAP_ADMIN_SECRET`);
  }

  async create(input: {
    name: string;
    description?: string;
    groups: readonly string[];
  }): Promise<{ account: ServiceAccountView; clientSecret: string }> {
    const clientSecret = newSecret();
    try {
      const row = await this.store.prisma.serviceAccount.create({
        data: {
          name: input.name,
          clientId: input.name,
          description: input.description ?? null,
          groups: [...input.groups],
          clientSecretHash: secretHash(clientSecret),
        },
      });
      return { account: present(row), clientSecret };
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`a service account named "${input.name}" exists`);
      throw error;
    }
  }

  async list(): Promise<ServiceAccountView[]> {
    return (await this.store.prisma.serviceAccount.findMany({ orderBy: { name: 'asc' } })).map(present);
  }

  async get(name: string): Promise<ServiceAccountView> {
    const row = await this.store.prisma.serviceAccount.findUnique({ where: { name } });
    if (!row) throw new NotFoundError('service account', name);
    return present(row);
  }

  async update(
    name: string,
    input: { disabled?: boolean; groups?: readonly string[] },
  ): Promise<ServiceAccountView> {
    await this.get(name);
    const row = await this.store.prisma.serviceAccount.update({
      where: { name },
      data: {
        ...(input.disabled !== undefined ? { disabled: input.disabled } : {}),
        ...(input.groups ? { groups: [...input.groups] } : {}),
      },
    });
    return present(row);
  }

  /**
   * Deletes the account and, in the same transaction, revokes every credential issued to it: its
   * API keys, its SSH keys and its tokens (and so, through their ancestry, every token derived from
   * them), and ends its just-in-time access (grants, and requests still pending). The account is its name, so an account created again under that name would otherwise
   * take back the deleted one's credentials (a leaked key the deletion was meant to cut off).
   */
  async remove(name: string): Promise<void> {
    const subject = `sa:${name}`;
    await this.store.prisma.$transaction(async (tx) => {
      const { count } = await tx.serviceAccount.deleteMany({ where: { name } });
      if (count === 0) throw new NotFoundError('service account', name);
      const now = new Date();
      await tx.apiKey.updateMany({ where: { subject, revokedAt: null }, data: { revokedAt: now } });
      await tx.sshKey.deleteMany({ where: { subject } });
      await tx.tokenGrant.updateMany({ where: { subject, revokedAt: null }, data: { revokedAt: now } });
      // Just-in-time access is the subject's too: its grants end, and what it asked for and nobody
      // decided yet expires, so an approval cannot hand it to the name's next account.
      await tx.review.updateMany({
        where: { requester: subject, kind: 'access', state: 'approved', grantExpiresAt: { gt: now } },
        data: { grantExpiresAt: now },
      });
      await tx.review.updateMany({
        where: { requester: subject, state: 'pending' },
        data: { state: 'expired', decidedAt: now },
      });
    });
  }

  async checkClient(clientId: string, clientSecret: string): Promise<ClientCheck> {
    const row = await this.store.prisma.serviceAccount.findUnique({ where: { clientId } });
    // The same answer for an unknown client and a wrong secret: nothing to learn by probing.
    if (!row || !secretMatches(clientSecret, row.clientSecretHash)) {
      return { ok: false, reason: 'unknown client or wrong client secret' };
    }
    if (row.disabled) return { ok: false, reason: `service account sa:${row.name} is disabled` };
    return { ok: true, account: present(row) };
  }
}

function present(row: ServiceAccount): ServiceAccountView {
  return {
    name: row.name,
    subject: `sa:${row.name}`,
    clientId: row.clientId,
    description: row.description,
    groups: Array.isArray(row.groups) ? row.groups.filter((g): g is string => typeof g === 'string') : [],
    disabled: row.disabled,
    createdAt: row.createdAt.toISOString(),
  };
}
