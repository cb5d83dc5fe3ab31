import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ForbiddenError, NotFoundError, ValidationError } from '../../../common/errors';
import { ValidationPipe } from '../../../common/validation/validation.pipe';
import { AuditWriter } from '../../audit/audit-writer';
import { AccessDecider } from '../access-decider';
import { ApiKeysService, type ApiKeyView } from '../api-keys/api-keys.service';
import { holdsOwnCredential, type Principal } from '../principal';
import { parseScopeParameter, uncoveredScopes } from '../tokens/scopes';
import { Authenticated } from './access.decorators';
import { CurrentPrincipal } from './current-principal.decorator';

const createApiKey = z
  .object({
    name: z.string().min(1).max(100),
    /** Space-separated scopes, a subset of the caller's (default: the caller's). */
    scope: z.string().max(2000).optional(),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
    /** A short-lived key (a connection credential: `tollgate credentials create NAME --ttl 1h`). */
    expiresInSeconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400)
      .optional(),
  })
  .strict()
  .refine((body) => body.expiresInDays === undefined || body.expiresInSeconds === undefined, {
    message: 'give expiresInDays or expiresInSeconds, not both',
    path: ['expiresInSeconds'],
  });

/**
 * API keys of the caller (a person or a service account). A key gets at most the caller's scopes;
 * it is shown once. Admins may list and revoke every key.
 */
@ApiTags('api-keys')
@Authenticated()
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly decider: AccessDecider,
    private readonly audit: AuditWriter,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an API key for yourself; the key is in this response only' })
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body(ValidationPipe.of(createApiKey)) body: z.output<typeof createApiKey>,
  ): Promise<ApiKeyView & { key: string }> {
    if (!holdsOwnCredential(principal)) {
      throw new ForbiddenError(
        'API keys are created with your own login or client credentials, not a delegated token or another key',
      );
    }
    let scopes = [...principal.scopes];
    if (body.scope !== undefined) {
      const parsed = parseScopeParameter(body.scope);
      const wider = [...parsed.unknown, ...uncoveredScopes(principal.scopes, parsed.scopes)];
      if (wider.length > 0)
        throw new ValidationError([{ field: 'scope', message: `not held by you: ${wider.join(' ')}` }]);
      scopes = parsed.scopes;
    }
    const { key, view } = await this.keys.create({
      name: body.name,
      subject: principal.subject,
      scopes,
      expiresAt: body.expiresInDays
        ? new Date(Date.now() + body.expiresInDays * 86_400_000)
        : body.expiresInSeconds
          ? new Date(Date.now() + body.expiresInSeconds * 1000)
          : null,
    });
    await this.audit.record({
      subject: principal.subject,
      action: 'apikey:create',
      target: `apikey:${view.prefix}`,
      decision: 'allow',
      reason: `API key "${view.name}" created`,
      payload: { scopes, expiresAt: view.expiresAt },
    });
    return { ...view, key };
  }

  @Get()
  @ApiOperation({ summary: 'Your API keys (all keys for admins)' })
  async list(@CurrentPrincipal() principal: Principal): Promise<{ items: ApiKeyView[] }> {
    const all = await this.isAdmin(principal, 'GET /api/v1/api-keys');
    return { items: await this.keys.list(all ? undefined : principal.subject) };
  }

  @Delete(':prefix')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key by its prefix (your own, or any for admins)' })
  async revoke(@CurrentPrincipal() principal: Principal, @Param('prefix') prefix: string): Promise<void> {
    const key = await this.keys.find(prefix);
    if (!key) throw new NotFoundError('API key', prefix);
    const resource = `DELETE /api/v1/api-keys/${prefix}`;
    if (key.subject !== principal.subject && !(await this.isAdmin(principal, resource))) {
      throw new NotFoundError('API key', prefix);
    }
    // A key may revoke itself; another of its owner's keys needs the owner's own login (or admin).
    if (
      key.subject === principal.subject &&
      !holdsOwnCredential(principal) &&
      principal.tokenId !== `apikey:${prefix}` &&
      !(await this.isAdmin(principal, resource))
    ) {
      await this.audit.record({
        subject: principal.subject,
        actorChain: principal.actorChain,
        action: 'apikey:revoke',
        target: `apikey:${prefix}`,
        decision: 'deny',
        reason: `${principal.tokenId.startsWith('apikey:') ? 'an API key' : 'a delegated token'} cannot revoke another key of its owner`,
      });
      throw new ForbiddenError(
        'API keys are revoked with your own login or client credentials, not a delegated token or another key',
      );
    }
    await this.keys.revoke(prefix);
    await this.audit.record({
      subject: principal.subject,
      actorChain: principal.actorChain,
      action: 'apikey:revoke',
      target: `apikey:${prefix}`,
      decision: 'allow',
      reason: `API key of ${key.subject} revoked`,
    });
  }

  private async isAdmin(principal: Principal, resource: string): Promise<boolean> {
    return (await this.decider.decide({ principal, verb: 'admin', resource })).allowed;
  }
}
