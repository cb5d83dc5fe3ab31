import { formatPolicyError, type PolicyError } from '@tollgate/policy';
import { ValidationError } from '../../../common/errors';

/**
 * A policy document that does not validate: one problem per error, named `document.<path>`, with the
 * full `file:line:column: path: reason` message and the line and column on their own (the console's
 * editor marks the line).
 */
export function policyValidationError(errors: readonly PolicyError[]): ValidationError {
  return new ValidationError(
    errors.map((e) => ({
      field: `document${e.path ? `.${e.path}` : ''}`,
      message: formatPolicyError(e),
      ...(e.line !== undefined ? { line: e.line, column: e.column ?? 1 } : {}),
    })),
  );
}

/** A valid document that would leave nobody able to administer: refused like a validation problem. */
export function policyLockOutError(problem: string): ValidationError {
  return new ValidationError([{ field: 'document.roles', message: `refused: ${problem}` }]);
}
