import type { StatementResult } from './simple-query.client';

export type ResultFormat = 'table' | 'json' | 'csv';

/** Renders results the way a terminal user expects: aligned tables like psql, JSON rows, or CSV. */
export function formatResults(results: readonly StatementResult[], format: ResultFormat): string {
  const ok = results.filter((r) => !r.error);
  switch (format) {
    case 'json':
      return (
        ok
          .filter((r) => r.columns.length > 0)
          .map((r) =>
            JSON.stringify(
              r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i] ?? null]))),
            ),
          )
          .join('\n') + '\n'
      );
    case 'csv':
      return ok
        .filter((r) => r.columns.length > 0)
        .map((r) => [r.columns, ...r.rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n')
        .join('\r\n');
    case 'table':
      return ok.map(table).join('\n');
  }
}

function table(result: StatementResult): string {
  if (result.columns.length === 0) return `${result.tag}\n`;
  const cells = result.rows.map((row) => row.map((v) => v ?? ''));
  const widths = result.columns.map((c, i) =>
    Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)),
  );
  const line = (values: readonly string[]) =>
    ' ' + values.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ') + ' ';
  const rule = widths.map((w) => '-'.repeat(w + 2)).join('+');
  const count = `(${result.rows.length} ${result.rows.length === 1 ? 'row' : 'rows'})`;
  return [line(result.columns).trimEnd(), rule, ...cells.map((row) => line(row).trimEnd()), count, ''].join(
    '\n',
  );
}

function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
