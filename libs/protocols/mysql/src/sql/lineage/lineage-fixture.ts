import { lineageNotation } from '@tollgate/masking';
import type { LineageCatalog, RelationFacts, StatementLineage } from './lineage.types';
import { analyzeMysqlLineage } from './statement-lineage';

const table = (schema: string, name: string, columns: string[], generated: string[] = []): RelationFacts => ({
  schema,
  name,
  kind: 'table',
  columns: columns.map((column) => ({
    name: column,
    ...(generated.includes(column) ? { generated: true } : {}),
  })),
});
const view = (schema: string, name: string, columns: string[], definition?: string): RelationFacts => ({
  schema,
  name,
  kind: 'view',
  columns: columns.map((column) => ({ name: column })),
  ...(definition !== undefined ? { definition } : {}),
});

/**
 * The catalog the MySQL lineage specs run against: database `app` (the session's current one) with
 * a customers table whose ssn and card columns are masked, and database `hr` with a masked salary.
 * View definitions are written as information_schema.VIEWS shows them (MariaDB's rewritten form).
 */
export const FIXTURE_RELATIONS: readonly RelationFacts[] = [
  table('app', 'customers', ['id', 'name', 'ssn', 'email', 'card']),
  table('app', 'orders', ['id', 'customer_id', 'total', 'note']),
  table('app', 'computed', ['id', 'ssn_last4'], ['ssn_last4']),
  table('app', 'people', ['id', 'name']),
  table('hr', 'people', ['id', 'name', 'salary']),
  table('app', 'scratch', ['id', 'note']),
  view(
    'app',
    'customer_view',
    ['id', 'name', 'tax_id'],
    'select `app`.`customers`.`id` AS `id`,`app`.`customers`.`name` AS `name`,`app`.`customers`.`ssn` AS `tax_id` from `app`.`customers`',
  ),
  view(
    'app',
    'safe_view',
    ['id', 'name'],
    'select `app`.`customers`.`id` AS `id`,`app`.`customers`.`name` AS `name` from `app`.`customers`',
  ),
  view(
    'app',
    'nested_view',
    ['t', 'name'],
    'select `app`.`customer_view`.`tax_id` AS `t`,`app`.`customer_view`.`name` AS `name` from `app`.`customer_view`',
  ),
  view(
    'app',
    'agg_view',
    ['n', 'm'],
    'select count(0) AS `n`,max(`app`.`customers`.`ssn`) AS `m` from `app`.`customers`',
  ),
  view('app', 'hidden_view', ['x']),
  view('app', 'broken_view', ['x'], 'not sql at all'),
];

export const FIXTURE_USER_FUNCTIONS = new Set(['my_func']);

export const fixtureCatalog: LineageCatalog = {
  relations: (name, schema) =>
    FIXTURE_RELATIONS.filter(
      (r) => r.name.toLowerCase() === name.toLowerCase() && r.schema.toLowerCase() === schema.toLowerCase(),
    ),
  userFunction: (name) => FIXTURE_USER_FUNCTIONS.has(name.toLowerCase()),
};

const MASKED = new Set(['customers.ssn', 'customers.card', 'people.salary']);

/**
 * A statement's lineage in the corpus notation (lineageNotation of @tollgate/masking); PREPARE shows
 * what it prepares after `prepare:`.
 */
export function describeLineage(statement: StatementLineage): string {
  if (statement.prepared) return `prepare:${describeLineage(statement.prepared)}`;
  if (statement.executes !== undefined) return `execute ${statement.executes}`;
  return lineageNotation(statement, (s) => MASKED.has(`${s.table}.${s.column}`));
}

export function lineageLine(sql: string, database: string | null = 'app'): string {
  const analysis = analyzeMysqlLineage(sql, fixtureCatalog, {
    backslashEscapes: true,
    database: database ?? undefined,
  });
  if ('unparsed' in analysis) return 'unparsed';
  if (analysis.missing) return `missing ${JSON.stringify(analysis.missing)}`;
  return analysis.statements.map(describeLineage).join(' / ');
}
