/**
 * Built-in functions that store or send their arguments somewhere the session can read them back
 * later (a sequence, a setting, a notification, a large object, the WAL, another server): calling
 * one with a value made from a masked column is a write of that value.
 */
export const SIDE_EFFECT_FUNCTIONS = new Set([
  'setval',
  'set_config',
  'pg_notify',
  'lo_from_bytea',
  'lo_put',
  'lo_import',
  'lo_export',
  'lowrite',
  'lo_create',
  'pg_logical_emit_message',
  'pg_file_write',
  'pg_file_rename',
  'dblink',
  'dblink_exec',
  'dblink_send_query',
  'pg_advisory_lock',
  'pg_advisory_xact_lock',
  'pg_try_advisory_lock',
  'pg_try_advisory_xact_lock',
  'pg_advisory_lock_shared',
  'pg_try_advisory_lock_shared',
  'txid_current_if_assigned',
  'pg_stat_statements_reset',
  'pg_replication_origin_create',
  'pg_create_restore_point',
]);

/**
 * Catalog columns that hold values copied from user tables (planner statistics): what they hold is
 * not known to come from any particular column, so they are untraced.
 */
export const TABLE_DATA_CATALOG_COLUMNS = new Map<string, (column: string) => boolean>([
  ['pg_catalog.pg_statistic', (column) => column.startsWith('stavalues')],
  ['pg_catalog.pg_statistic_ext_data', (column) => column === 'stxdmcv' || column === 'stxdexpr'],
]);

/**
 * Built-ins whose value is not made from their arguments: a server file's content (a table's own
 * data file among them) or a large object's (lo_import reads a file), as MySQL's LOAD_FILE.
 */
export const UNTRACED_FUNCTIONS = new Set(['pg_read_file', 'pg_read_binary_file', 'lo_get', 'loread']);

/**
 * Built-ins whose arguments decide how long the statement runs, which the client can time:
 * `pg_sleep(CASE WHEN ssn LIKE '1%' THEN 1 ELSE 0 END)` tells the first digit as a WHERE would.
 */
export const TIMING_FUNCTIONS = new Set(['pg_sleep', 'pg_sleep_for', 'pg_sleep_until']);
