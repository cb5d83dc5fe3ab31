import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthenticatedError } from '../../../common/errors';
import { AuditWriter } from '../../audit/audit-writer';
import { AccessDecider } from '../access-decider';
import { AccessTokenVerifier } from '../access-token-verifier';
import type { Principal } from '../principal';
import { ACCESS_METADATA, type RouteAccess } from './access.decorators';

export type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

const DEFAULT_ACCESS: RouteAccess = { kind: 'verb', verb: 'admin' };

/**
 * Every HTTP route passes here (bound as APP_GUARD). The bearer token (gateway JWT or API key) is
 * verified, then RBAC decides the route's verb; both steps audit their refusals.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: AccessTokenVerifier,
    private readonly decider: AccessDecider,
    private readonly audit: AuditWriter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access =
      this.reflector.getAllAndOverride<RouteAccess | undefined>(ACCESS_METADATA, [
        context.getHandler(),
        context.getClass(),
      ]) ?? DEFAULT_ACCESS;
    if (access.kind === 'public') return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const resource = `${request.method} ${request.routeOptions.url ?? request.url}`;
    const token = bearerToken(request.headers.authorization);
    if (!token) {
      const reason = 'no bearer token: log in with `tollgate login` or send Authorization: Bearer <token>';
      await this.audit
        .record({ subject: 'anonymous', action: 'authenticate', target: resource, decision: 'deny', reason })
        .catch(() => undefined);
      throw new UnauthenticatedError(reason);
    }
    const principal = await this.verifier.verify(token);
    request.principal = principal;
    if (access.kind === 'authenticated') return true;

    const decision = await this.decider.decide({
      principal,
      verb: access.verb,
      resource,
      source: request.ip,
    });
    if (!decision.allowed) throw new ForbiddenError(`${access.verb} denied: ${decision.reason}`);
    return true;
  }
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +([^\s]+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
