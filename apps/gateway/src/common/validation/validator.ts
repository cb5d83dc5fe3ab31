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
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({ field: formatPath([...prefix, ...issue.path, key]), message: 'unknown field' });
      }
      continue;
    }
    problems.push({ field: formatPath([...prefix, ...issue.path]), message: issue.message });
  }
  return problems;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}
