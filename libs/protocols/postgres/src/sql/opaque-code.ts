import { OPAQUE_KINDS } from '@tollgate/policy';
import { constString, list, names, text, walk, type Node } from './ast';
import { statementType } from './statement-type';

/**
 * Opaque code: what a statement makes the server run that the statement's own text does not show,
 * so no guardrail can judge it from the SQL sent. Each finding is named by a kind of policy's
 * OPAQUE_KINDS, which `allow: {opaque: [...]}` lists. The kinds:
 *
 * - statements that run or define code: `DO`, `CALL`, `CREATE FUNCTION`, `CREATE PROCEDURE`,
 *   `ALTER FUNCTION`/`ALTER PROCEDURE`/`ALTER ROUTINE` (SECURITY DEFINER, SET, ... change how
 *   existing code runs);
 * - statements that attach code to events or syntax, so later harmless-looking statements run it:
 *   `CREATE TRIGGER`, `CREATE EVENT TRIGGER`, `CREATE RULE`, `CREATE AGGREGATE`, `CREATE OPERATOR`,
 *   `CREATE CAST` (with a function), `CREATE TYPE` (base types and ranges with functions),
 *   `CREATE CONVERSION`, `CREATE TRANSFORM`, `CREATE OPERATOR CLASS`, `ALTER OPERATOR FAMILY`,
 *   `ALTER TYPE`/`ALTER OPERATOR` (with function options), `CREATE TEXT SEARCH PARSER`/`TEMPLATE`;
 * - statements that install or load code: `CREATE LANGUAGE`, `CREATE ACCESS METHOD`,
 *   `CREATE FOREIGN DATA WRAPPER`/`ALTER FOREIGN DATA WRAPPER` (with handler functions),
 *   `CREATE EXTENSION`, `ALTER EXTENSION` (UPDATE runs the extension's scripts), `LOAD`;
 * - `COPY PROGRAM`: a shell command on the server;
 * - `DYNAMIC SQL`: a call of a function known to run a query string (`query_to_xml`, `dblink_exec`, ...);
 * - `CODE SETTING`: a setting that loads or runs code (`session_preload_libraries`, `archive_command`,
 *   ...) or a `search_path` that puts a schema before `pg_catalog` (its functions and operators then
 *   shadow the built-in ones), however it is set (SET, set_config, ALTER ROLE/DATABASE/SYSTEM SET,
 *   start-up parameters);
 * - `EXECUTE` of a prepared statement the session did not see prepared, `FUNCTION CALL` (the
 *   protocol's fast-path call of a function by OID), and `UNPARSED` (a string the parser rejects, or
 *   any text while the server would read it differently from the parser): found by the session and
 *   the policy, not here.
 */
export { OPAQUE_KINDS };

/** Statement nodes that are opaque whatever they say. */
const ALWAYS_OPAQUE = new Set([
  'DoStmt',
  'CallStmt',
  'CreateFunctionStmt',
  'AlterFunctionStmt',
  'CreateTrigStmt',
  'CreateEventTrigStmt',
  'RuleStmt',
  'CreateConversionStmt',
  'CreateTransformStmt',
  'CreatePLangStmt',
  'CreateAmStmt',
  'CreateExtensionStmt',
  'AlterExtensionStmt',
  'LoadStmt',
]);

/** Settings that load libraries or run commands on the server. */
const CODE_SETTINGS = new Set([
  'shared_preload_libraries',
  'session_preload_libraries',
  'local_preload_libraries',
  'dynamic_library_path',
  'jit_provider',
  'archive_command',
  'archive_library',
  'restore_command',
  'archive_cleanup_command',
  'recovery_end_command',
  'ssl_passphrase_command',
]);

/** Functions known to run a query (or build one from names) given as a string. */
const QUERY_STRING_FUNCTIONS = new Set([
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'ts_stat',
  'crosstab',
  'crosstab2',
  'crosstab3',
  'crosstab4',
  'connectby',
  'pg_background_launch',
  'schedule_in_database',
]);

/** Node types that can make a statement opaque (the others are not looked at). */
const CANDIDATES = new Set([
  ...ALWAYS_OPAQUE,
  'CopyStmt',
  'DefineStmt',
  'CreateRangeStmt',
  'CreateCastStmt',
  'CreateFdwStmt',
  'AlterFdwStmt',
  'CreateOpClassStmt',
  'AlterOpFamilyStmt',
  'AlterTypeStmt',
  'AlterOperatorStmt',
  'VariableSetStmt',
  'AlterRoleSetStmt',
  'AlterDatabaseSetStmt',
  'AlterSystemStmt',
  'FuncCall',
]);

/** Every kind of opaque code in a statement (its own, and that of statements and calls inside it). */
export function opaqueKinds(kind: string, body: Node): string[] {
  const found = new Set<string>();
  const visit = (nodeKind: string, node: unknown) => {
    if (!CANDIDATES.has(nodeKind) || typeof node !== 'object' || node === null) return;
    const finding = opaqueNode(nodeKind, node as Node);
    if (finding) found.add(finding);
  };
  visit(kind, body);
  walk(body, (key, value) => {
    visit(key, value);
    return true;
  });
  return [...found];
}

function opaqueNode(kind: string, body: Node): string | undefined {
  if (ALWAYS_OPAQUE.has(kind)) return statementType(kind, body);
  switch (kind) {
    case 'CopyStmt':
      return body['is_program'] === true ? 'COPY PROGRAM' : undefined;
    case 'DefineStmt': {
      const defined = text(body['kind']);
      if (['OBJECT_AGGREGATE', 'OBJECT_OPERATOR', 'OBJECT_TSPARSER', 'OBJECT_TSTEMPLATE'].includes(defined))
        return statementType(kind, body);
      // A base type names its input/output functions; a shell type (no definition) runs nothing.
      return defined === 'OBJECT_TYPE' && list(body['definition']).length > 0 ? 'CREATE TYPE' : undefined;
    }
    case 'CreateRangeStmt':
      return hasDefElem(body['params'], ['canonical', 'subtype_diff']) ? 'CREATE TYPE' : undefined;
    case 'CreateCastStmt':
      return body['func'] !== undefined ? 'CREATE CAST' : undefined;
    case 'CreateFdwStmt':
    case 'AlterFdwStmt':
      return list(body['func_options']).length > 0 ? statementType(kind, body) : undefined;
    case 'CreateOpClassStmt':
    case 'AlterOpFamilyStmt':
      // Items of type 2 are support functions (1 operators, 3 storage types).
      return list(body['items']).some(
        (item) => (item['CreateOpClassItem'] as Node | undefined)?.['itemtype'] === 2,
      )
        ? statementType(kind, body)
        : undefined;
    case 'AlterTypeStmt':
      return list(body['options']).length > 0 ? 'ALTER TYPE' : undefined;
    case 'AlterOperatorStmt':
      return hasDefElem(body['options'], ['restrict', 'join']) ? 'ALTER OPERATOR' : undefined;
    case 'VariableSetStmt':
      return settingRunsCode(text(body['name']), setValues(body)) ? 'CODE SETTING' : undefined;
    case 'AlterRoleSetStmt':
    case 'AlterDatabaseSetStmt':
    case 'AlterSystemStmt': {
      // Their SET is a bare field, not a VariableSetStmt node.
      const set = body['setstmt'] as Node | undefined;
      return set && settingRunsCode(text(set['name']), setValues(set)) ? 'CODE SETTING' : undefined;
    }
    case 'FuncCall':
      return functionCallRunsCode(body);
    default:
      return undefined;
  }
}

function hasDefElem(options: unknown, wanted: readonly string[]): boolean {
  return list(options).some((o) => wanted.includes(text((o['DefElem'] as Node | undefined)?.['defname'])));
}

/** The values of `SET name = a, b` as strings; undefined when one is not a constant. */
function setValues(body: Node): string[] | undefined {
  if (text(body['kind']) !== 'VAR_SET_VALUE') return [];
  const values: string[] = [];
  for (const arg of list(body['args'])) {
    const constant = arg['A_Const'] as Node | undefined;
    if (!constant) return undefined;
    const value = constString(arg) ?? scalar(constant);
    if (value === undefined) return undefined;
    values.push(value);
  }
  return values;
}

/** A number or boolean constant as text (libpg-query leaves out zero and false: `{ival: {}}`). */
function scalar(constant: Node): string | undefined {
  for (const [key, empty] of [
    ['ival', '0'],
    ['fval', '0'],
    ['boolval', 'false'],
  ] as const) {
    const inner = constant[key] as Node | undefined;
    if (!inner) continue;
    const value = Object.values(inner)[0];
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : empty;
  }
  return undefined;
}

/**
 * Whether setting `name` to `values` (the list items, or one string to split as the server splits a
 * list setting; undefined when not known) loads or runs code, or lets functions shadow built-ins.
 */
export function settingRunsCode(name: string, values: readonly string[] | string | undefined): boolean {
  const setting = name.toLowerCase();
  if (CODE_SETTINGS.has(setting)) return true;
  if (setting !== 'search_path') return false;
  if (values === undefined) return true;
  const schemas = typeof values === 'string' ? splitIdentifiers(values) : values.map((v) => v);
  if (schemas === undefined) return true;
  // pg_catalog is searched first unless the path names it; named after another schema, that
  // schema's functions and operators win over the built-in ones. pg_temp never holds functions.
  const catalog = schemas.indexOf('pg_catalog');
  return catalog > 0 && schemas.slice(0, catalog).some((s) => s !== 'pg_temp');
}

/** `a, "B", c` → ['a', 'B', 'c'] (unquoted names folded to lower case), as the server splits lists. */
function splitIdentifiers(value: string): string[] | undefined {
  const items: string[] = [];
  let rest = value.trim();
  if (rest === '') return [];
  for (;;) {
    let item: string;
    if (rest.startsWith('"')) {
      const m = /^"((?:[^"]|"")*)"/.exec(rest);
      if (!m) return undefined;
      item = (m[1] ?? '').replace(/""/g, '"');
      rest = rest.slice(m[0].length).trimStart();
    } else {
      const m = /^[^,\s]+/.exec(rest);
      if (!m) return undefined;
      item = m[0].toLowerCase();
      rest = rest.slice(m[0].length).trimStart();
    }
    items.push(item);
    if (rest === '') return items;
    if (!rest.startsWith(',')) return undefined;
    rest = rest.slice(1).trimStart();
  }
}

function functionCallRunsCode(call: Node): string | undefined {
  const qualified = names(call['funcname']).map((n) => n.toLowerCase());
  const name = qualified.at(-1) ?? '';
  const args = list(call['args']);
  if (name === 'set_config') {
    const setting = constString(args[0]);
    // A setting named at run time could be any of them.
    if (setting === undefined) return 'CODE SETTING';
    return settingRunsCode(setting, constString(args[1])) ? 'CODE SETTING' : undefined;
  }
  if (QUERY_STRING_FUNCTIONS.has(name) || name.startsWith('dblink')) return 'DYNAMIC SQL';
  // ts_rewrite(query, 'SELECT ...') runs its second argument; the three-argument form does not.
  if (name === 'ts_rewrite' && args.length === 2) return 'DYNAMIC SQL';
  // pg_cron: cron.schedule('...', 'DELETE FROM ...') runs the statement later.
  if (qualified[0] === 'cron' && qualified.length > 1) return 'DYNAMIC SQL';
  return undefined;
}
