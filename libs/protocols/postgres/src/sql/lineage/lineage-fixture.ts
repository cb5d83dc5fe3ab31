import { lineageNotation } from '@tollgate/masking';
import type { LineageCatalog, RelationFacts, StatementLineage } from './lineage.types';
import { analyzeLineage } from './statement-lineage';

const table = (schema: string, name: string, columns: string[], generated: string[] = []): RelationFacts => ({
  schema,
  name,
  kind: 'table',
  columns: columns.map((column) => ({
    name: column,
    type: 'text',
    ...(generated.includes(column) ? { generated: true } : {}),
  })),
});
const view = (schema: string, name: string, columns: string[], definition: string): RelationFacts => ({
  schema,
  name,
  kind: 'view',
  columns: columns.map((column) => ({ name: column, type: 'text' })),
  definition,
});

/** The catalog the lineage specs run against: a customers table with masked ssn and card columns. */
export const FIXTURE_RELATIONS: readonly RelationFacts[] = [
  table('public', 'customers', ['id', 'name', 'ssn', 'email', 'card']),
  table('public', 'orders', ['id', 'customer_id', 'total', 'note']),
  table('public', 'computed', ['id', 'ssn_copy'], ['ssn_copy']),
  table('public', 'people', ['id', 'name']),
  table('hr', 'people', ['id', 'name', 'salary']),
  table('public', 'staff', ['id', 'salary']),
  table('hr', 'staff', ['id', 'salary']),
  view('public', 'customer_view', ['id', 'name', 'tax_id'], 'SELECT id, name, ssn AS tax_id FROM customers'),
  view('public', 'safe_view', ['id', 'name'], 'SELECT id, name FROM customers'),
  view('public', 'nested_view', ['t', 'name'], 'SELECT tax_id AS t, name FROM customer_view'),
  view('public', 'agg_view', ['n', 'm'], 'SELECT count(*) AS n, max(ssn) AS m FROM customers'),
  view('public', 'broken_view', ['x'], 'not sql at all'),
  view('public', 'filtered_view', ['id'], "SELECT id FROM customers WHERE ssn LIKE '1%'"),
  view('public', 'setting_view', ['s'], "SELECT set_config('my.x', ssn, false) AS s FROM customers"),
  {
    ...view('public', 'mat_customers', ['id', 'tax_id'], 'SELECT id, ssn AS tax_id FROM customers'),
    materialized: true,
  },
  { ...view('public', 'mat_view', ['id', 'name'], 'SELECT id, name FROM safe_view'), materialized: true },
  table('pg_catalog', 'pg_statistic', ['starelid', 'staattnum', 'stavalues1']),
  view(
    'pg_catalog',
    'pg_stats',
    ['attname', 'most_common_vals'],
    'SELECT staattnum::text AS attname, stavalues1::text::text[] AS most_common_vals FROM pg_catalog.pg_statistic',
  ),
  view(
    'pg_catalog',
    'pg_stat_activity',
    ['pid', 'query'],
    'SELECT s.pid, s.query FROM pg_stat_get_activity(NULL::integer) s(pid, query)',
  ),
];

/** Functions and operators defined on the server (outside pg_catalog). */
export const FIXTURE_USER_FUNCTIONS = new Set(['my_func', 'my_srf', 'Leak', '###']);

export const fixtureCatalog: LineageCatalog = {
  relations: (name, schema) =>
    FIXTURE_RELATIONS.filter((r) => r.name === name && (schema === undefined || r.schema === schema)),
  userFunction: (name) => FIXTURE_USER_FUNCTIONS.has(name),
};

const MASKED = new Set(['customers.ssn', 'customers.card', 'people.salary', 'staff.salary']);

/** A statement's lineage in the corpus notation (lineageNotation of @tollgate/masking). */
export function describeLineage(statement: StatementLineage): string {
  return lineageNotation(statement, (s) => MASKED.has(`${s.table}.${s.column}`));
}

export function lineageLine(sql: string): string {
  const analysis = analyzeLineage(sql, fixtureCatalog);
  if ('unparsed' in analysis) return `unparsed`;
  if (analysis.missing) return `missing ${JSON.stringify(analysis.missing)}`;
  return analysis.statements.map(describeLineage).join(' / ');
}
