import { Body, Controller, Delete, Get, HttpCode, Param, Patch } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { User } from '@tollgate/store';
import { z } from 'zod';
import { NotFoundError } from '../../../common/errors';
import { ValidationPipe } from '../../../common/validation/validation.pipe';
import { StoreService } from '../../store/store.service';

const updateUser = z.object({ disabled: z.boolean() }).strict();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface UserView {
  readonly id: string;
  readonly subject: string;
  readonly issuer: string;
  readonly idpSubject: string;
  readonly email: string | null;
  readonly displayName: string | null;
  readonly disabled: boolean;
  readonly groups: readonly { readonly name: string; readonly source: string }[];
  readonly lastLoginAt: string | null;
}

type UserRow = User & { memberships: { source: string; group: { name: string } }[] };

/** Admin API for people known from OIDC logins. A disabled or deleted user loses access at once. */
@ApiTags('users')
@Controller('api/v1/users')
export class UsersController {
  constructor(private readonly store: StoreService) {}

  @Get()
  @ApiOperation({ summary: 'List users (created at their first login) with their groups' })
  async list(): Promise<{ items: UserView[] }> {
    const rows = await this.store.prisma.user.findMany({
      include: { memberships: { include: { group: true } } },
      orderBy: { createdAt: 'asc' },
    });
    return { items: rows.map(present) };
  }

  @Patch(':ref')
  @ApiOperation({ summary: 'Disable or enable a user (by id or email)' })
  async update(
    @Param('ref') ref: string,
    @Body(ValidationPipe.of(updateUser)) body: z.output<typeof updateUser>,
  ): Promise<UserView> {
    const user = await this.find(ref);
    const row = await this.store.prisma.user.update({
      where: { id: user.id },
      data: { disabled: body.disabled },
      include: { memberships: { include: { group: true } } },
    });
    return present(row);
  }

  @Delete(':ref')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user; their tokens stop working (a new login creates them again)' })
  async remove(@Param('ref') ref: string): Promise<void> {
    const user = await this.find(ref);
    await this.store.prisma.$transaction(async (tx) => {
      await tx.refreshToken.updateMany({
        where: { userId: user.id, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      await tx.user.delete({ where: { id: user.id } });
    });
  }

  private async find(ref: string): Promise<User> {
    const user = UUID.test(ref)
      ? await this.store.prisma.user.findUnique({ where: { id: ref } })
      : await this.store.prisma.user.findFirst({ where: { email: ref } });
    if (!user) throw new NotFoundError('user', ref);
    return user;
  }
}

function present(row: UserRow): UserView {
  return {
    id: row.id,
    subject: `user:${row.id}`,
    issuer: row.issuer,
    idpSubject: row.subject,
    email: row.email,
    displayName: row.displayName,
    disabled: row.disabled,
    groups: row.memberships.map((m) => ({ name: m.group.name, source: m.source })),
    lastLoginAt: row.lastLoginAt?.toISOString() ?? null,
  };
}
