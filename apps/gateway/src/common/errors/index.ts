export { ApiError } from './api.error';
export { ConflictError } from './conflict.error';
export { NotFoundError } from './not-found.error';
export { ValidationError, type FieldProblem } from './validation.error';
export { ForbiddenError } from './forbidden.error';
export { UnauthenticatedError, type RefusedTokenAttribution } from './unauthenticated.error';
