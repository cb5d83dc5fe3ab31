import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '../principal';
import { Authenticated } from './access.decorators';
import { CurrentPrincipal } from './current-principal.decorator';

export interface MeView {
  readonly subject: string;
  readonly displayName: string;
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
  readonly actorChain: readonly { readonly subject: string }[];
  readonly tokenId: string;
  readonly expiresAt: string;
}

/** The caller as the gateway sees it: the verified token, with only the groups that still count. */
@ApiTags('identity')
@Controller('api/v1/me')
export class MeController {
  @Get()
  @Authenticated()
  @ApiOperation({ summary: 'Who the bearer token identifies (verified): subject, groups, scopes, actors' })
  me(@CurrentPrincipal() principal: Principal): MeView {
    return {
      subject: principal.subject,
      displayName: principal.displayName,
      groups: principal.groups,
      scopes: principal.scopes,
      actorChain: principal.actorChain,
      tokenId: principal.tokenId,
      expiresAt: principal.expiresAt.toISOString(),
    };
  }
}
