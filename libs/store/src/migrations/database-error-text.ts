export interface DatabaseErrorText {
  /** One line for error messages: `message (SQLSTATE code)`. */
  readonly summary: string;
  /** Several lines for `_prisma_migrations.logs`, in the spirit of Prisma's own. */
  readonly logs: string;
}

/** Describes an error from pg or PGlite (both carry PostgreSQL's ErrorResponse fields). */
export function databaseErrorText(error: unknown): DatabaseErrorText {
  const message = error instanceof Error ? error.message : String(error);
  const code = stringField(error, 'code');
  const detail = stringField(error, 'detail');
  const hint = stringField(error, 'hint');
  const position = stringField(error, 'position');
  const summary = code ? `${message} (SQLSTATE ${code})` : message;
  const lines = [
    ...(code ? [`Database error code: ${code}`, ''] : []),
    'Database error:',
    message,
    ...(detail ? [`DETAIL: ${detail}`] : []),
    ...(hint ? [`HINT: ${hint}`] : []),
    ...(position ? [`POSITION: ${position}`] : []),
  ];
  return { summary, logs: lines.join('\n') };
}

function stringField(error: unknown, key: string): string | undefined {
  if (typeof error !== 'object' || error === null || !(key in error)) return undefined;
  const value: unknown = (error as Record<string, unknown>)[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
