import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { NotFoundError } from '../../../common/errors';
import { AuditWriter } from '../../audit/audit-writer';
import { StoreService } from '../../store/store.service';
import { SigningKeysService } from '../keys/signing-keys.service';
import type { Principal } from '../principal';
import { TokenRevocationService } from '../tokens/token-revocation.service';
import { CurrentPrincipal } from './current-principal.decorator';

/** Admin API: revoke any issued token (and its descendants); rotate the signing key. */
@ApiTags('tokens')
@Controller('api/v1')
export class TokenAdminController {
  constructor(
    private readonly store: StoreService,
    private readonly revocation: TokenRevocationService,
    private readonly keys: SigningKeysService,
    private readonly audit: AuditWriter,
  ) {}

  @Post('tokens/:jti/revoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a token by its jti, and every token exchanged from it' })
  async revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('jti') jti: string,
  ): Promise<{ jti: string; revoked: number }> {
    const grant = await this.store.prisma.tokenGrant.findUnique({ where: { jti } });
    if (!grant) throw new NotFoundError('token', jti);
    const revoked = await this.revocation.revoke(jti);
    await this.audit.record({
      subject: principal.subject,
      actorChain: principal.actorChain,
      action: 'token:revoke',
      target: `token:${jti}`,
      decision: 'allow',
      reason: `token of ${grant.subject} revoked by an administrator (${revoked} token(s) including descendants)`,
    });
    return { jti, revoked };
  }

  @Get('signing-keys')
  @ApiOperation({ summary: 'The published signing keys (public parts), newest first' })
  async list(): Promise<{ items: unknown[] }> {
    return { items: (await this.keys.jwks()).keys };
  }

  @Post('signing-keys/rotate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Start signing with a new key; the old one verifies its tokens until they expire',
  })
  async rotate(@CurrentPrincipal() principal: Principal): Promise<{ kid: string }> {
    const kid = await this.keys.rotate();
    await this.audit.record({
      subject: principal.subject,
      actorChain: principal.actorChain,
      action: 'signing-key:rotate',
      target: `kid:${kid}`,
      decision: 'allow',
      reason: 'signing key rotated',
    });
    return { kid };
  }
}
