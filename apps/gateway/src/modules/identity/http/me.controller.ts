import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '../principal';
import {
  DescribeCallerAccessUseCase,
  type CallerAccessView,
} from '../usecases/describe-caller-access.usecase';
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
  constructor(private readonly describeAccess: DescribeCallerAccessUseCase) {}

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

  @Get('access')
  @Authenticated()
  @ApiOperation({
    summary:
      'What the caller may do: its gateway verbs (admin, audit:read, review) and the connections it may use or request, with their verbs',
  })
  access(@CurrentPrincipal() principal: Principal): Promise<CallerAccessView> {
    return this.describeAccess.execute(principal);
  }
}
