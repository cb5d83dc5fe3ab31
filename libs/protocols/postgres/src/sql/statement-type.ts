import { text, type Node } from './ast';

/** Statement types by parse-tree node, where the node's name does not say it in SQL's own words. */
const STATEMENT_TYPES: Record<string, string> = {
  SelectStmt: 'SELECT',
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
  DropStmt: 'DROP',
  TruncateStmt: 'TRUNCATE',
  CopyStmt: 'COPY',
  CreateStmt: 'CREATE TABLE',
  CreateTableAsStmt: 'CREATE TABLE AS',
  AlterTableStmt: 'ALTER TABLE',
  IndexStmt: 'CREATE INDEX',
  ViewStmt: 'CREATE VIEW',
  CreateSchemaStmt: 'CREATE SCHEMA',
  CreatedbStmt: 'CREATE DATABASE',
  DropdbStmt: 'DROP DATABASE',
  CreateRoleStmt: 'CREATE ROLE',
  AlterRoleStmt: 'ALTER ROLE',
  DropRoleStmt: 'DROP ROLE',
  GrantStmt: 'GRANT',
  GrantRoleStmt: 'GRANT',
  TransactionStmt: 'TRANSACTION',
  VariableSetStmt: 'SET',
  VariableShowStmt: 'SHOW',
  ExplainStmt: 'EXPLAIN',
  DoStmt: 'DO',
  CallStmt: 'CALL',
  RenameStmt: 'RENAME',
  VacuumStmt: 'VACUUM',
  PrepareStmt: 'PREPARE',
  ExecuteStmt: 'EXECUTE',
  DeallocateStmt: 'DEALLOCATE',
  ListenStmt: 'LISTEN',
  NotifyStmt: 'NOTIFY',
  UnlistenStmt: 'UNLISTEN',
  LockStmt: 'LOCK',
  DeclareCursorStmt: 'DECLARE',
  FetchStmt: 'FETCH',
  ClosePortalStmt: 'CLOSE',
  DiscardStmt: 'DISCARD',
  CreateTrigStmt: 'CREATE TRIGGER',
  CreateEventTrigStmt: 'CREATE EVENT TRIGGER',
  AlterEventTrigStmt: 'ALTER EVENT TRIGGER',
  RuleStmt: 'CREATE RULE',
  CreatePLangStmt: 'CREATE LANGUAGE',
  CreateAmStmt: 'CREATE ACCESS METHOD',
  CreateFdwStmt: 'CREATE FOREIGN DATA WRAPPER',
  AlterFdwStmt: 'ALTER FOREIGN DATA WRAPPER',
  CreateForeignServerStmt: 'CREATE SERVER',
  AlterForeignServerStmt: 'ALTER SERVER',
  CreateSeqStmt: 'CREATE SEQUENCE',
  AlterSeqStmt: 'ALTER SEQUENCE',
  CreateTableSpaceStmt: 'CREATE TABLESPACE',
  DropTableSpaceStmt: 'DROP TABLESPACE',
  AlterTableSpaceOptionsStmt: 'ALTER TABLESPACE',
  CreateOpClassStmt: 'CREATE OPERATOR CLASS',
  CreateOpFamilyStmt: 'CREATE OPERATOR FAMILY',
  AlterOpFamilyStmt: 'ALTER OPERATOR FAMILY',
  CreateStatsStmt: 'CREATE STATISTICS',
  AlterStatsStmt: 'ALTER STATISTICS',
  CompositeTypeStmt: 'CREATE TYPE',
  CreateEnumStmt: 'CREATE TYPE',
  CreateRangeStmt: 'CREATE TYPE',
  AlterEnumStmt: 'ALTER TYPE',
  SecLabelStmt: 'SECURITY LABEL',
  CheckPointStmt: 'CHECKPOINT',
  ConstraintsSetStmt: 'SET CONSTRAINTS',
  ReassignOwnedStmt: 'REASSIGN OWNED',
  RefreshMatViewStmt: 'REFRESH MATERIALIZED VIEW',
  AlterTSDictionaryStmt: 'ALTER TEXT SEARCH DICTIONARY',
  AlterTSConfigurationStmt: 'ALTER TEXT SEARCH CONFIGURATION',
};

/** DefineStmt's kinds (CREATE AGGREGATE, CREATE OPERATOR, ...), by `kind`. */
const DEFINE_KINDS: Record<string, string> = {
  OBJECT_AGGREGATE: 'CREATE AGGREGATE',
  OBJECT_OPERATOR: 'CREATE OPERATOR',
  OBJECT_TYPE: 'CREATE TYPE',
  OBJECT_TSPARSER: 'CREATE TEXT SEARCH PARSER',
  OBJECT_TSDICTIONARY: 'CREATE TEXT SEARCH DICTIONARY',
  OBJECT_TSTEMPLATE: 'CREATE TEXT SEARCH TEMPLATE',
  OBJECT_TSCONFIGURATION: 'CREATE TEXT SEARCH CONFIGURATION',
  OBJECT_COLLATION: 'CREATE COLLATION',
};

/**
 * The upper-case statement type of a parse-tree statement, most general keyword first: `SELECT`,
 * `DROP INDEX`, `CREATE FUNCTION`, `COPY FROM`, ... (the vocabulary of policy's statement selectors).
 */
export function statementType(kind: string, body: Node): string {
  switch (kind) {
    case 'DropStmt': {
      const removeType = text(body['removeType'], 'OBJECT_TABLE')
        .replace(/^OBJECT_/, '')
        .replace(/_/g, ' ');
      return removeType === 'TABLE' ? 'DROP' : `DROP ${removeType}`;
    }
    case 'CopyStmt':
      return body['is_from'] ? 'COPY FROM' : 'COPY TO';
    case 'GrantStmt':
      return body['is_grant'] === true ? 'GRANT' : 'REVOKE';
    case 'SelectStmt':
      return body['intoClause'] ? 'SELECT INTO' : 'SELECT';
    case 'CreateFunctionStmt':
      return body['is_procedure'] === true ? 'CREATE PROCEDURE' : 'CREATE FUNCTION';
    case 'AlterFunctionStmt':
      return `ALTER ${text(body['objtype'], 'OBJECT_FUNCTION').replace(/^OBJECT_/, '')}`;
    case 'DefineStmt':
      return DEFINE_KINDS[text(body['kind'])] ?? 'CREATE';
    case 'VacuumStmt':
      return body['is_vacuumcmd'] === true ? 'VACUUM' : 'ANALYZE';
    case 'VariableSetStmt':
      return /^VAR_RESET/.test(text(body['kind'])) ? 'RESET' : 'SET';
    default:
      return (
        STATEMENT_TYPES[kind] ??
        kind
          .replace(/Stmt$/, '')
          .replace(/([a-z])([A-Z])/g, '$1 $2')
          .toUpperCase()
      );
  }
}
