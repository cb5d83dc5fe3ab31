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
 * data file among them) or a large object's (lo_import reads a file), as MySQL's LOAD_FILE; a table,
 * schema, database, cursor or query read whole into XML (`table_to_xml('customers', ...)` names the
 * table by a string, `cursor_to_xml('cur', ...)` reads a cursor declared earlier); changes decoded
 * from the WAL (every column written, in any table); other sessions' SQL text (it quotes the values
 * they write).
 */
export const UNTRACED_FUNCTIONS = new Set([
  'pg_read_file',
  'pg_read_binary_file',
  'lo_get',
  'loread',
  'table_to_xml',
  'table_to_xml_and_xmlschema',
  'schema_to_xml',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xml_and_xmlschema',
  'cursor_to_xml',
  'query_to_xml',
  'query_to_xml_and_xmlschema',
  'pg_logical_slot_get_changes',
  'pg_logical_slot_peek_changes',
  'pg_logical_slot_get_binary_changes',
  'pg_logical_slot_peek_binary_changes',
  'pg_stat_get_activity',
  'pg_stat_get_backend_activity',
]);

/**
 * Untraced built-ins whose other output columns are plain facts: in FROM with its columns named (as
 * the pg_stat_activity view names them), only these columns are untraced. `query` is another
 * session's SQL text, which quotes the values it writes.
 */
export const PARTLY_UNTRACED_FUNCTIONS = new Map<string, ReadonlySet<string>>([
  ['pg_stat_get_activity', new Set(['query'])],
]);

/**
 * Built-ins whose arguments decide how long the statement runs, which the client can time:
 * `pg_sleep(CASE WHEN ssn LIKE '1%' THEN 1 ELSE 0 END)` tells the first digit as a WHERE would.
 */
export const TIMING_FUNCTIONS = new Set(['pg_sleep', 'pg_sleep_for', 'pg_sleep_until']);

/**
 * Built-in set-returning functions (pg_proc.proretset in pg_catalog, PostgreSQL 15-17): their
 * arguments decide how many rows come back, which a count shows however their values are masked
 * (`SELECT count(*) FROM (SELECT generate_series(1, ascii(ssn)) FROM customers) x` tells the first
 * character), so they are filtered on as a WHERE is. Any function in FROM is treated so, whatever its
 * name (query-lineage.ts); this list catches them elsewhere (a target list, a subquery).
 */
export const SET_RETURNING_FUNCTIONS = new Set([
  'aclexplode',
  'generate_series',
  'generate_subscripts',
  'json_array_elements',
  'json_array_elements_text',
  'json_each',
  'json_each_text',
  'json_object_keys',
  'json_populate_recordset',
  'json_to_recordset',
  'jsonb_array_elements',
  'jsonb_array_elements_text',
  'jsonb_each',
  'jsonb_each_text',
  'jsonb_object_keys',
  'jsonb_path_query',
  'jsonb_path_query_tz',
  'jsonb_populate_recordset',
  'jsonb_to_recordset',
  'pg_mcv_list_items',
  'pg_options_to_table',
  'pg_snapshot_xip',
  'regexp_matches',
  'regexp_split_to_table',
  'string_to_table',
  'ts_debug',
  'ts_parse',
  'txid_snapshot_xip',
  'unnest',
  'pg_ls_dir',
]);
