import { formatPolicyError, parsePolicy } from '@tollgate/policy';

/** A problem at a place in a text document (1-based line and column). */
export interface Diagnostic {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/**
 * Validates a policy document in the browser with the gateway's own validator (@tollgate/policy),
 * so the editor can mark each problem at its line as the user types. Problems the validator
 * cannot place are reported at line 1.
 */
export function lintPolicy(text: string, fileName = 'policy.yaml'): Diagnostic[] {
  const result = parsePolicy(text, fileName);
  if (result.ok) return [];
  return result.errors.map((error) => ({
    line: error.line ?? 1,
    column: error.column ?? 1,
    message: error.path ? `${error.path}: ${error.message}` : error.message,
  }));
}

/** Problems of a policy the gateway refused (its errors carry `line` and `column`). */
export function diagnosticsFromProblems(
  problems: readonly { field: string; message: string; line?: number; column?: number }[],
): Diagnostic[] {
  return problems.map((p) => ({
    line: p.line ?? 1,
    column: p.column ?? 1,
    // The gateway's message starts with `file:line:column: `; the editor shows the place itself.
    message: p.message.replace(/^[^:\s]+:\d+:\d+: /, ''),
  }));
}

export { formatPolicyError };
