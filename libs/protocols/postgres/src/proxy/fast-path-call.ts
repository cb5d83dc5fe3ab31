import type { FrontendMessage } from '../frontend-messages';
import { sqlLiteral, type CatalogConnection } from './catalog-connection';

type FunctionCall = Extract<FrontendMessage, { name: 'functionCall' }>;

/**
 * The SELECT a fast-path FunctionCall stands for, to classify and trace like one: the function by
 * its schema-qualified name (read on the catalog connection), text arguments as literals, binary
 * ones as parameters. Undefined when the catalog connection does not show the function (made in
 * the client's open transaction) or cannot be read. Never sent to the server. `recorded` is what
 * the audit trail records: every argument as a parameter (values are not recorded, as for a Bind).
 */
export async function fastPathCallText(
  side: CatalogConnection,
  call: FunctionCall,
): Promise<{ readonly text: string; readonly recorded: string } | undefined> {
  const oid = call.functionId >>> 0;
  const rows = await side
    .query(
      `SELECT n.nspname, p.proname FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ` +
        `ON n.oid = p.pronamespace WHERE p.oid = ${oid}`,
    )
    .catch(() => []);
  const [schema, name] = rows[0] ?? [];
  if (!schema || !name) return undefined;
  const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
  // No format codes: all text; one: it applies to every argument; else one per argument.
  const formatOf = (i: number) =>
    call.argumentFormats.length === 0
      ? 0
      : (call.argumentFormats[call.argumentFormats.length === 1 ? 0 : i] ?? 1);
  const args = call.arguments.map((value, i) =>
    value === null ? 'NULL' : formatOf(i) === 0 ? sqlLiteral(value.toString('utf8')) : `$${i + 1}`,
  );
  const callee = `${quote(schema)}.${quote(name)}`;
  return {
    text: `SELECT ${callee}(${args.join(', ')})`,
    recorded: `SELECT ${callee}(${call.arguments.map((_, i) => `$${i + 1}`).join(', ')})`,
  };
}
