import { attachLineage, CatalogWatch, SessionCatalog, untracedStatement } from '@tollgate/masking';
import { analyzeMysqlLineage } from '../sql/lineage/statement-lineage';
import { readingKey, type TextReading } from '../sql/statement-splitter';
import type {
  LineageAnalysis,
  LineageCatalog,
  MissingCatalogFacts,
  RelationFacts,
  StatementLineage,
} from '../sql/lineage/lineage.types';
import type { SqlClassification } from '../sql/statement-facts';
import { sqlLiteral, type CatalogConnection } from './catalog-connection';

/**
 * Lineage for one MySQL session: analyses (cached by text, current database and backslash reading),
 * the catalog facts they need (read from information_schema on the session's catalog connection,
 * cached), the session's current database (USE, COM_INIT_DB) and what it prepared with SQL PREPARE,
 * so that EXECUTE gets the lineage of what it runs. Catalog facts and cached analyses are dropped
 * when the session runs DDL (which MySQL commits at once, so the catalog connection sees it), and
 * when another session to the same server through this agent does (`watch`); a statement's lineage
 * `holds` at its result only if no DDL came between (see CatalogWatch).
 */
export class SessionLineage {
  /** Catalog facts and analyses (shared with the PostgreSQL engine: @tollgate/masking SessionCatalog). */
  private readonly cache: SessionCatalog<RelationFacts, StatementLineage>;
  /** SQL PREPARE names (case-insensitive, as the server's). */
  private readonly prepared = new Map<string, StatementLineage>();
  /** Code ran that the analysis did not see (CALL, SQL it could not parse): it may have set user variables. */
  private untracedVariables = false;

  constructor(
    private readonly connection: CatalogConnection,
    /** The session's current database: the one it logged in to. */
    public database: string | undefined,
    watch?: CatalogWatch,
  ) {
    this.cache = new SessionCatalog<RelationFacts, StatementLineage>((name) => name.toLowerCase(), watch);
  }

  /**
   * The lineage of each top-level statement of `sql` (EXECUTE as what it runs), read with the
   * session's current database, or `database` (a protocol prepared statement's, from its PREPARE).
   */
  async analyze(
    sql: string,
    text: TextReading,
    database: string | undefined = this.database,
  ): Promise<readonly StatementLineage[]> {
    const key = `${readingKey(text)}${this.untracedVariables ? 'v' : ''}${database ?? ''}\u0000${sql}`;
    const reading = {
      backslashEscapes: text.backslashEscapes,
      untracedVariables: this.untracedVariables,
      ...(text.pipesAsConcat !== undefined ? { pipesAsConcat: text.pipesAsConcat } : {}),
      ...(text.server ? { server: text.server } : {}),
      database,
    };
    if (this.cache.catchUp()) {
      // The server prepares a statement again when a table or view it reads changed.
      for (const name of this.prepared.keys())
        this.prepared.set(
          name,
          untraced(`statement ${name} prepared before another session changed the catalog`),
        );
    }
    const generation = this.cache.generation;
    let statements = this.cache.cached(key);
    if (this.cache.unsettled) {
      // Another session's DDL is on its way: what the catalog says now may not be what runs.
      statements = lineageOf(analyzeMysqlLineage(sql, UNKNOWN_CATALOG, reading));
    } else if (!statements) {
      const { analysis, cacheable } = await this.cache.analyze(
        (catalog) => analyzeMysqlLineage(sql, catalog, reading),
        (missing) => this.read(missing),
      );
      statements = lineageOf(analysis);
      if (cacheable && generation === this.cache.generation && !this.cache.unsettled)
        this.cache.remember(key, statements);
    }
    return this.resolveNames(this.cache.stamp(statements, generation));
  }

  /**
   * Whether a statement's lineage still describes what the server runs when its rows arrive: no DDL
   * (this session's or another's through this agent) came after it was made, and none is under way.
   */
  holds(statement: StatementLineage | undefined): boolean {
    return this.cache.holds(statement);
  }

  /**
   * An allowed command is being forwarded: DDL in it, or code that may run DDL (`runsCode`), is
   * every session's reason to distrust the facts read before it.
   */
  forwarding(statements: readonly StatementLineage[], runsCode = false): void {
    if (runsCode) {
      this.cache.drop();
      this.untracedVariables = true;
    }
    if (runsCode || statements.some((statement) => statement.changesCatalog)) this.cache.changing();
  }

  /**
   * A command was forwarded and answered: remember what its statements prepared, freed and selected
   * (as far as they ran: `ran` statements, all but those after an error); DDL drops the catalog.
   */
  forwarded(statements: readonly StatementLineage[], ran: number = statements.length): void {
    // MySQL commits DDL at once: answered, it is in the catalog every session reads.
    this.cache.settled();
    statements.forEach((statement, i) => {
      if (statement.changesCatalog) this.cache.drop();
      if (i >= ran) return;
      if (statement.prepares !== undefined)
        this.prepared.set(statement.prepares.toLowerCase(), statement.prepared ?? untraced('PREPARE'));
      if (statement.deallocates !== undefined) this.prepared.delete(statement.deallocates.toLowerCase());
      if (statement.uses !== undefined) this.database = statement.uses;
    });
  }

  /** The session ended: its catalog connection is closed. */
  close(): void {
    this.cache.settled();
    this.connection.close();
  }

  /** COM_RESET_CONNECTION: the server forgets the session's prepared statements. */
  reset(): void {
    this.prepared.clear();
    // The server forgets the session's user variables too.
    this.untracedVariables = false;
  }

  /** EXECUTE as what it runs: prepared by this session before, or earlier in the same string. */
  private resolveNames(statements: readonly StatementLineage[]): StatementLineage[] {
    const prepared = new Map<string, StatementLineage>();
    return statements.map((statement) => {
      if (statement.prepares !== undefined)
        prepared.set(statement.prepares.toLowerCase(), statement.prepared ?? untraced('PREPARE'));
      if (statement.executes === undefined) return statement;
      const name = statement.executes.toLowerCase();
      const runs = prepared.get(name) ?? this.prepared.get(name) ?? untraced(`EXECUTE ${statement.executes}`);
      // It holds as long as what it runs does.
      return this.cache.stampLike({ ...runs, executes: statement.executes }, runs);
    });
  }

  private async read(missing: MissingCatalogFacts): Promise<void> {
    if (missing.relations.length > 0) await this.readRelations(missing.relations);
    if (missing.functions.length > 0) await this.readFunctions(missing.functions);
  }

  private async readRelations(wanted: MissingCatalogFacts['relations']): Promise<void> {
    const where = (schema: string, table: string) =>
      wanted
        .map(({ name, schema: db }) => `(${schema} = ${sqlLiteral(db)} AND ${table} = ${sqlLiteral(name)})`)
        .join(' OR ');
    const tables = await this.connection.query(
      `SELECT t.TABLE_SCHEMA, t.TABLE_NAME, t.TABLE_TYPE, v.VIEW_DEFINITION, t.ENGINE FROM information_schema.TABLES t ` +
        `LEFT JOIN information_schema.VIEWS v ON v.TABLE_SCHEMA = t.TABLE_SCHEMA AND v.TABLE_NAME = t.TABLE_NAME ` +
        `WHERE ${where('t.TABLE_SCHEMA', 't.TABLE_NAME')}`,
    );
    const columns = await this.connection.query(
      `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, EXTRA FROM information_schema.COLUMNS ` +
        `WHERE ${where('TABLE_SCHEMA', 'TABLE_NAME')} ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
    );
    const columnsOf = new Map<string, { name: string; generated?: boolean }[]>();
    for (const [schema, table, column, extra] of columns) {
      if (!schema || !table || !column) continue;
      const key = `${schema}\u0000${table}`;
      const list = columnsOf.get(key) ?? [];
      list.push({ name: column, ...(/GENERATED/i.test(extra ?? '') ? { generated: true } : {}) });
      columnsOf.set(key, list);
    }
    const found: RelationFacts[] = [];
    for (const [schema, name, type, definition, engine] of tables) {
      if (!schema || !name) continue;
      // A table whose rows are another table's (MERGE over MyISAM tables, FEDERATED, CONNECT,
      // SPIDER) is read as a view whose definition is not known: untraced.
      const view = /VIEW/i.test(type ?? '') || ROWS_ELSEWHERE_ENGINES.test(engine ?? '');
      found.push({
        schema,
        name,
        kind: view ? 'view' : 'table',
        columns: columnsOf.get(`${schema}\u0000${name}`) ?? [],
        // Empty when the user may not SHOW VIEW: then the view is untraced.
        ...(view && definition ? { definition } : {}),
      });
    }
    this.cache.learnRelations(wanted, found);
  }

  private async readFunctions(names: readonly string[]): Promise<void> {
    // Stored functions the user can see; a loadable function (UDF) is not listed here.
    const rows = await this.connection.query(
      `SELECT DISTINCT LOWER(ROUTINE_NAME) FROM information_schema.ROUTINES ` +
        `WHERE ROUTINE_TYPE = 'FUNCTION' AND ROUTINE_NAME IN (${names.map(sqlLiteral).join(', ')})`,
    );
    this.cache.learnFunctions(
      names,
      rows.flatMap(([name]) => (name ? [name] : [])),
    );
  }
}

/** Storage engines whose tables hold no rows of their own but show other tables' (or servers'). */
const ROWS_ELSEWHERE_ENGINES = /^(MRG_MYISAM|MERGE|FEDERATED|FEDERATEDX|CONNECT|SPIDER)$/i;

function untraced(reason: string): StatementLineage {
  return untracedStatement(reason);
}

/** A catalog that knows no relation and takes every function for user code. */
const UNKNOWN_CATALOG: LineageCatalog = { relations: () => [], userFunction: () => true };

function lineageOf(analysis: LineageAnalysis): readonly StatementLineage[] {
  return 'unparsed' in analysis ? [untraced('SQL the parser rejects')] : analysis.statements;
}

/**
 * The lineage facts policy decides on, added to each top-level statement's classification facts
 * (and to the statements a PREPARE prepares, which EXECUTE is later decided on).
 */
export function withLineage(
  classification: SqlClassification,
  lineage: readonly StatementLineage[],
): SqlClassification {
  if (!classification.ok) return classification;
  return {
    ok: true,
    statements: attachLineage(classification.statements, lineage, (facts, traced) => ({
      ...facts,
      lineage: traced,
    })),
  };
}
