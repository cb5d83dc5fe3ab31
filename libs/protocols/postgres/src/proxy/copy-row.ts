import type { CopyFormat } from '../sql/lineage/lineage.types';

/** One field of a COPY row: its text (unescaped), or null for NULL. */
export type CopyField = string | null;

export const DEFAULT_COPY_FORMAT: CopyFormat = {
  format: 'text',
  delimiter: '\t',
  quote: '"',
  escape: '"',
  header: false,
};

/**
 * Takes one row of COPY TO output (text or csv format, as the server sends it: one row per
 * CopyData) apart into fields. Returns undefined for what it cannot read (a different NULL string,
 * a row split over messages), which the caller treats as one value to mask whole.
 */
export function splitCopyRow(row: string, format: CopyFormat): CopyField[] | undefined {
  const line = row.endsWith('\r\n') ? row.slice(0, -2) : row.endsWith('\n') ? row.slice(0, -1) : row;
  return format.format === 'csv' ? splitCsv(line, format) : splitText(line, format.delimiter);
}

/** Writes fields back in the row's format, ending in the newline the row had. */
export function joinCopyRow(fields: readonly CopyField[], format: CopyFormat, original: string): string {
  const newline = original.endsWith('\r\n') ? '\r\n' : original.endsWith('\n') ? '\n' : '';
  const encoded = fields.map((field) =>
    format.format === 'csv' ? encodeCsv(field, format) : encodeText(field, format.delimiter),
  );
  return encoded.join(format.delimiter) + newline;
}

const TEXT_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function splitText(line: string, delimiter: string): CopyField[] | undefined {
  const fields: CopyField[] = [];
  let current = '';
  let raw = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (ch === delimiter) {
      fields.push(raw === '\\N' ? null : current);
      current = '';
      raw = '';
      continue;
    }
    if (ch !== '\\') {
      current += ch;
      raw += ch;
      continue;
    }
    const next = line[i + 1];
    if (next === undefined) return undefined;
    raw += ch + next;
    i++;
    if (TEXT_ESCAPES[next] !== undefined) current += TEXT_ESCAPES[next];
    else if (/[0-7]/.test(next)) {
      let digits = next;
      while (digits.length < 3 && /[0-7]/.test(line[i + 1] ?? '')) digits += line[++i];
      current += String.fromCharCode(parseInt(digits, 8));
    } else if (next === 'x' && /[0-9a-fA-F]/.test(line[i + 1] ?? '')) {
      let digits = '';
      while (digits.length < 2 && /[0-9a-fA-F]/.test(line[i + 1] ?? '')) digits += line[++i];
      current += String.fromCharCode(parseInt(digits, 16));
    } else current += next;
  }
  fields.push(raw === '\\N' ? null : current);
  return fields;
}

function encodeText(field: CopyField, delimiter: string): string {
  if (field === null) return '\\N';
  let out = '';
  for (const ch of field) {
    if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === delimiter) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

function splitCsv(line: string, format: CopyFormat): CopyField[] | undefined {
  const fields: CopyField[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === format.quote) {
      let value = '';
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        const ch = line[i] as string;
        if (ch === format.escape && format.escape !== format.quote && line[i + 1] !== undefined) {
          value += line[i + 1];
          i += 2;
        } else if (ch === format.quote && format.escape === format.quote && line[i + 1] === format.quote) {
          value += ch;
          i += 2;
        } else if (ch === format.quote) {
          i++;
          break;
        } else {
          value += ch;
          i++;
        }
      }
      fields.push(value);
    } else {
      const end = line.indexOf(format.delimiter, i);
      const value = line.slice(i, end === -1 ? line.length : end);
      // The default NULL string of csv: an unquoted empty field.
      fields.push(value === '' ? null : value);
      i = end === -1 ? line.length : end;
    }
    if (i >= line.length) return fields;
    if (line.slice(i, i + format.delimiter.length) !== format.delimiter) return undefined;
    i += format.delimiter.length;
    if (i === line.length) {
      fields.push(null);
      return fields;
    }
  }
}

function encodeCsv(field: CopyField, format: CopyFormat): string {
  if (field === null) return '';
  const special =
    field === '' ||
    field.includes(format.delimiter) ||
    field.includes(format.quote) ||
    field.includes('\n') ||
    field.includes('\r') ||
    field === '\\.';
  if (!special) return field;
  const escaped = field
    .split('')
    .map((ch) => (ch === format.quote || ch === format.escape ? format.escape + ch : ch))
    .join('');
  return format.quote + escaped + format.quote;
}
