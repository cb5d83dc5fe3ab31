/**
 * PostgreSQL's condition names (Appendix A, errcodes.txt) for the SQLSTATEs clients meet most: a
 * withheld server message still says what kind of error it was. Names only, never values.
 */
const CONDITION_NAMES: Readonly<Record<string, string>> = {
  '0A000': 'feature_not_supported',
  '21000': 'cardinality_violation',
  '22001': 'string_data_right_truncation',
  '22003': 'numeric_value_out_of_range',
  '22007': 'invalid_datetime_format',
  '22008': 'datetime_field_overflow',
  '22012': 'division_by_zero',
  '2201B': 'invalid_regular_expression',
  '22021': 'character_not_in_repertoire',
  '22023': 'invalid_parameter_value',
  '22P02': 'invalid_text_representation',
  '22P05': 'untranslatable_character',
  '23502': 'not_null_violation',
  '23503': 'foreign_key_violation',
  '23505': 'unique_violation',
  '23514': 'check_violation',
  '25P02': 'in_failed_sql_transaction',
  '3F000': 'invalid_schema_name',
  '40001': 'serialization_failure',
  '40P01': 'deadlock_detected',
  '42501': 'insufficient_privilege',
  '42601': 'syntax_error',
  '42701': 'duplicate_column',
  '42702': 'ambiguous_column',
  '42703': 'undefined_column',
  '42704': 'undefined_object',
  '42725': 'ambiguous_function',
  '42803': 'grouping_error',
  '42804': 'datatype_mismatch',
  '42809': 'wrong_object_type',
  '42846': 'cannot_coerce',
  '42883': 'undefined_function',
  '42P01': 'undefined_table',
  '42P02': 'undefined_parameter',
  '42P07': 'duplicate_table',
  '42P10': 'invalid_column_reference',
  '42P18': 'indeterminate_datatype',
  '53100': 'disk_full',
  '54000': 'program_limit_exceeded',
  '55P03': 'lock_not_available',
  '57014': 'query_canceled',
};

/** `42P01 undefined_table`, or the code alone when its name is not listed here. */
export function describeSqlState(code: string | undefined): string {
  if (code === undefined) return 'unknown';
  const name = CONDITION_NAMES[code];
  return name ? `${code} ${name}` : code;
}
