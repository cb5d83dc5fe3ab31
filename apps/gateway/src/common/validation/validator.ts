import type { z } from 'zod';
import type { FieldProblem } from '../errors';

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; problems: FieldProblem[] };

/** Checks untrusted input; every problem names its field. */
export type Validator<T> = (input: unknown) => ValidationResult<T>;

export function zodValidator<T extends z.ZodType>(schema: T): Validator<z.output<T>> {
  return (input) => {
    const result = schema.safeParse(input);
    return result.success
      ? { ok: true, value: result.data }
      : { ok: false, problems: toFieldProblems(result.error) };
  };
}

export function toFieldProblems(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  const add = (field: string, message: string) => {
    const key = `${field}\u0000${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    problems.push({ field, message });
  };
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add(formatPath([...prefix, ...issue.path, key]), 'unknown field');
      continue;
    }
    const field = formatPath([...prefix, ...issue.path]);
    add(field, said(issue, field));
  }
  return problems;
}

/**
 * An issue in words for people: a missing field is `required` (zod says "expected nonoptional,
 * received undefined", or "expected object, received undefined", often both for one field), and a
 * body that is not a JSON object says how to send one.
 */
function said(issue: z.core.$ZodIssue, field: string): string {
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return 'required';
  if (issue.code === 'invalid_type' && field === '' && issue.expected === 'object') {
    return `${issue.message}: send a JSON object with content-type: application/json`;
  }
  return issue.message;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}
