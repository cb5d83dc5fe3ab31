import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { UnauthenticatedError } from '../../../common/errors';
import type { Principal } from '../principal';
import type { AuthenticatedRequest } from './access.guard';

/** The verified caller of a guarded route. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new UnauthenticatedError('this route needs a bearer token');
  return principal;
});
