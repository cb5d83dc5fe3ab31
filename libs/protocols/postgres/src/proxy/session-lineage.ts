import {
  attachLineage,
  CatalogWatch,
  SessionCatalog,
  untracedStatement as sharedUntraced,
} from '@tollgate/masking';
import { analyzeLineage } from '../sql/lineage/statement-lineage';
import { analysisKey } from '../sql/statement-shape';
import type {
  LineageAnalysis,
  LineageCatalog,
  MissingCatalogFacts,
  RelationFacts,
  StatementLineage,
} from '../sql/lineage/lineage.types';
import type { SqlClassification } from '../sql-classifier';
import { sqlLiteral, type CatalogConnection } from './catalog-connection';

/**
 * Lineage for one session: analyses (cached by text), the catalog facts they need (read on the
 * session's catalog connection, cached), and what the session has prepared and declared, so that
 * EXECUTE, a protocol Bind and FETCH get the lineage of what they run. Catalog facts and cached
 * analyses are dropped when the session changes the catalog, and while its transaction holds
 * uncommitted catalog changes (invisible to the catalog connection) everything is untraced. Another
 * session's change to the same database through this agent drops them too (`watch`), and a
 * statement's lineage `holds` at its result only if no change came between (see CatalogWatch).
 */
export class SessionLineage {
  /** Catalog facts and analyses (shared with the MySQL engine: @tollgate/masking SessionCatalog). */
  private readonly cache: SessionCatalog<RelationFacts, StatementLineage>;
  /** Prepared statements (SQL PREPARE and protocol Parse share one namespace) and cursors. */
  private readonly statements = new Map<string, StatementLineage>();
  /**
   * Portals by name: SQL cursors (DECLARE) and protocol portals (Bind) share one namespace on the
   * server, and FETCH, MOVE, CLOSE and Execute reach either. `hold`: a WITH HOLD cursor, which
   * outlives its transaction; `at`: the sync points sent before it was made.
   */
  private readonly portals = new Map<string, { statement: StatementLineage; hold: boolean; at: number }>();
  /** Sync points (Query, Sync, FunctionCall) sent, and ReadyForQuery received. */
  private syncPoints = 0;
  private answered = 0;
  private catalogChangedInTransaction = false;

  constructor(
    private readonly connection: CatalogConnection,
    watch?: CatalogWatch,
  ) {
    this.cache = new SessionCatalog<RelationFacts, StatementLineage>((name) => name, watch);
  }

  /** The lineage of each statement of `sql` (EXECUTE and FETCH as what they run). */
  async analyze(sql: string): Promise<readonly StatementLineage[]> {
    // Texts that differ only in constants no analysis reads share an analysis (statement-shape.ts);
    // a shape key starts with \u0000, which no text holds.
    const key = analysisKey(sql) ?? sql;
    if (this.cache.catchUp()) this.untracePrepared('another session changed the catalog');
    const generation = this.cache.generation;
    let statements = this.cache.cached(key);
    if (this.catalogChangedInTransaction || this.cache.unsettled) {
      // The catalog connection cannot see this transaction's changes, nor whether another
      // session's change under way lands before this statement runs: no relation is known.
      statements = lineageOf(analyzeLineage(sql, UNKNOWN_CATALOG));
    } else if (!statements) {
      const { analysis, cacheable } = await this.cache.analyze(
        (catalog) => analyzeLineage(sql, catalog),
        (missing) => this.read(missing),
      );
      statements = lineageOf(analysis);
      // Facts read while another session changed the catalog may be its old state: not kept.
      if (cacheable && generation === this.cache.generation && !this.cache.unsettled)
        this.cache.remember(key, statements);
    }
    return this.resolveNames(this.cache.stamp(statements, generation));
  }

  /**
   * Whether a statement's lineage still describes what the server runs when its rows arrive: no
   * catalog change (this session's or another's through this agent) came after it was made, and
   * none is under way. When it does not, the rows are masked whole.
   */
  holds(statement: StatementLineage | undefined): boolean {
    return this.cache.holds(statement);
  }

  /** The session ended: a catalog change it left unsettled is settled (rolled back with it). */
  close(): void {
    this.cache.settled();
  }

  /** Lineage of a prepared statement (by name) or the unnamed one (''), for a protocol Bind. */
  preparedStatement(name: string): StatementLineage {
    return this.statements.get(name) ?? untracedStatement(`prepared statement "${name}"`);
  }

  /**
   * An allowed command is being forwarded: remember what it prepares and declares; DDL drops the
   * catalog, as does opaque code (`runsCode`: it may run DDL no analysis sees).
   */
  forwarding(statements: readonly StatementLineage[], runsCode = false): void {
    for (const statement of statements) {
      if (statement.prepares !== undefined)
        this.prepare(statement.prepares, statement.prepared ?? untracedStatement('PREPARE'));
      if (statement.declares !== undefined)
        this.openPortal(statement.declares, statement, statement.holds === true);
      if (statement.closes === null) this.portals.clear();
      else if (statement.closes !== undefined) this.portals.delete(statement.closes);
      if (statement.changesCatalog) this.catalogChanges(statement.temporary === true);
    }
    if (runsCode) this.catalogChanges(false);
  }

  /**
   * A portal opened under `name`, by DECLARE or a protocol Bind. A name already open stands for
   * either afterwards (the second fails on the server, and the first goes on): untraced. The
   * unnamed portal ('') is replaced by every Bind.
   */
  private openPortal(name: string, statement: StatementLineage, hold: boolean): void {
    const open = name === '' ? undefined : this.portals.get(name);
    this.portals.set(name, {
      statement: open ? untracedStatement(`cursor "${name}" opened twice`) : statement,
      hold: hold || (open?.hold ?? false),
      at: this.syncPoints,
    });
  }

  /** A forwarded protocol Bind of `portal` to a prepared statement (or the unnamed one, ''). */
  bound(portal: string, statement: string): void {
    this.openPortal(portal, this.preparedStatement(statement), false);
  }

  /** A forwarded protocol Close of a portal. */
  closedPortal(name: string): void {
    this.portals.delete(name);
  }

  /** What an Execute of `portal` returns: the lineage of whatever was opened under its name. */
  portal(name: string): StatementLineage {
    return this.portals.get(name)?.statement ?? untracedStatement(`portal "${name}"`);
  }

  /** A sync point (Query, Sync, FunctionCall) is sent to the server. */
  syncPointSent(): void {
    this.syncPoints++;
  }

  /**
   * The server answered a sync point. Idle (`I`): the transaction ended, and with it every portal
   * but WITH HOLD cursors that was opened before that sync point was sent.
   */
  readyForQuery(status: string): void {
    this.answered++;
    if (status !== 'I') return;
    for (const [name, portal] of this.portals)
      if (!portal.hold && portal.at < this.answered) this.portals.delete(name);
  }

  /** A fast-path function call (by OID) is forwarded: code that may change the catalog. */
  ranCode(): void {
    this.catalogChanges(false);
  }

  /**
   * The session changes the catalog (`temporary`: only its own temporary objects). Other sessions
   * see it once it commits: until this session is idle again, they trust no fact.
   */
  private catalogChanges(temporary: boolean): void {
    this.cache.drop();
    this.catalogChangedInTransaction = true;
    if (!temporary) this.cache.changing();
    else this.cache.changedOwn();
    this.untracePrepared('the catalog changed');
  }

  /**
   * The server plans a prepared statement again when what it reads changes (a view replaced, a
   * table dropped and a view made under its name): what it returns now is not what its lineage
   * said. Fail closed: every statement prepared before is untraced from here on.
   */
  private untracePrepared(why: string): void {
    for (const name of this.statements.keys())
      this.statements.set(name, untracedStatement(`statement "${name}" prepared before ${why}`));
  }

  /** A forwarded protocol Parse of `name` ('' for the unnamed statement). */
  parsed(name: string, statement: StatementLineage | undefined): void {
    if (name === '') this.statements.set('', statement ?? untracedStatement('unnamed statement'));
    else this.prepare(name, statement ?? untracedStatement(`statement "${name}"`));
  }

  /** A forwarded Close of a prepared statement, DEALLOCATE (`undefined`: ALL). */
  deallocated(name: string | undefined): void {
    if (name === undefined) this.statements.clear();
    else this.statements.delete(name);
  }

  /** The server is idle outside a transaction: committed catalog changes are visible again. */
  idle(): void {
    this.cache.settled();
    if (!this.catalogChangedInTransaction) return;
    this.catalogChangedInTransaction = false;
    this.cache.drop();
  }

  private prepare(name: string, statement: StatementLineage): void {
    // A name prepared twice (the second fails on the server) stands for either: untraced.
    this.statements.set(
      name,
      this.statements.has(name) ? untracedStatement(`statement "${name}"`) : statement,
    );
  }

  /**
   * EXECUTE and FETCH as what they run: prepared and declared by this session before, or by an
   * earlier statement of the same string (not yet forwarded).
   */
  private resolveNames(statements: readonly StatementLineage[]): StatementLineage[] {
    const prepared = new Map<string, StatementLineage>();
    const cursors = new Map<string, StatementLineage>();
    return statements.map((statement) => {
      if (statement.prepares !== undefined)
        prepared.set(statement.prepares, statement.prepared ?? untracedStatement('PREPARE'));
      if (statement.declares !== undefined) cursors.set(statement.declares, statement);
      if (statement.executes !== undefined)
        return prepared.get(statement.executes) ?? this.preparedStatement(statement.executes);
      if (statement.fetches === undefined) return statement;
      const cursor = cursors.get(statement.fetches) ?? this.portals.get(statement.fetches)?.statement;
      const unknown = { untraced: `cursor "${statement.fetches}"` };
      // Its rows hold as long as the cursor's DECLARE does. FETCH and MOVE run the cursor's query
      // (the server reads rows only when asked): what it filters on and the rows it touches decide
      // them too, and their errors quote those values.
      return this.cache.stampLike(
        {
          ...statement,
          outputs: cursor?.outputs ?? { anyColumn: [unknown] },
          filtered: [...statement.filtered, ...(cursor ? cursor.filtered : [unknown])],
          ...(cursor?.touched ? { touched: [...(statement.touched ?? []), ...cursor.touched] } : {}),
        },
        cursor,
      );
    });
  }

  private async read(missing: MissingCatalogFacts): Promise<void> {
    if (missing.relations.length > 0) await this.readRelations(missing.relations);
    if (missing.functions.length > 0) await this.readFunctions(missing.functions);
  }

  private async readRelations(wanted: MissingCatalogFacts['relations']): Promise<void> {
    const conditions = wanted.map(({ name, schema }) =>
      schema === undefined
        ? `c.relname = ${sqlLiteral(name)}`
        : `(c.relname = ${sqlLiteral(name)} AND n.nspname = ${sqlLiteral(schema)})`,
    );
    const rows = await this.connection.query(
      `SELECT n.nspname, c.relname, c.relkind, ` +
        `CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END, ` +
        `(SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attgenerated <> '') ORDER BY a.attnum) ` +
        `FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ` +
        // Its inheritance and partition tree: ancestors and descendants, however deep.
        `(SELECT pg_catalog.json_agg(pg_catalog.json_build_array(tn.nspname, t.relname)) FROM pg_catalog.pg_class t ` +
        `JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace WHERE t.oid IN (` +
        `WITH RECURSIVE up(oid) AS (SELECT i.inhparent FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid ` +
        `UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.oid), ` +
        `down(oid) AS (SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid ` +
        `UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN down ON i.inhparent = down.oid) ` +
        `SELECT oid FROM up UNION SELECT oid FROM down)), ` +
        // Tables whose foreign keys name it: what a change to it can change in turn.
        `(SELECT pg_catalog.json_agg(pg_catalog.json_build_array(rn.nspname, r.relname)) FROM pg_catalog.pg_constraint k ` +
        `JOIN pg_catalog.pg_class r ON r.oid = k.conrelid JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace ` +
        `WHERE k.contype = 'f' AND k.confrelid = c.oid) ` +
        `FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ` +
        `WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND (${conditions.join(' OR ')})`,
    );
    const found: RelationFacts[] = [];
    for (const [schema, name, kind, definition = null, columns, related = null, referencing = null] of rows) {
      if (!schema || !name) continue;
      found.push({
        schema,
        name,
        // A foreign table's rows are another table's (postgres_fdw over this very database can
        // name customers.ssn as f.x), so it is read as a view whose definition is not known: untraced.
        kind: kind === 'v' || kind === 'm' || kind === 'f' ? 'view' : 'table',
        ...(kind === 'm' ? { materialized: true as const } : {}),
        columns: (JSON.parse(columns ?? '[]') as [string, string, boolean][]).map(
          ([column, type, generated]) => ({
            name: column,
            type,
            ...(generated ? { generated } : {}),
          }),
        ),
        ...(definition !== null ? { definition } : {}),
        ...(related !== null ? { related: relationNames(related) } : {}),
        ...(referencing !== null ? { referencedBy: relationNames(referencing) } : {}),
      });
    }
    this.cache.learnRelations(wanted, found);
  }

  private async readFunctions(names: readonly string[]): Promise<void> {
    // Functions outside pg_catalog (user code, extensions) are not known built-ins; nor are
    // operators defined outside it, but those of extensions (citext, PostGIS, hstore overload `=`,
    // `<`, `->`: they compute from their operands).
    const listed = names.map(sqlLiteral).join(', ');
    const rows = await this.connection.query(
      `SELECT p.proname FROM pg_catalog.pg_proc p ` +
        `WHERE p.pronamespace <> 'pg_catalog'::pg_catalog.regnamespace AND p.proname IN (${listed}) ` +
        `UNION SELECT o.oprname FROM pg_catalog.pg_operator o ` +
        `WHERE o.oprnamespace <> 'pg_catalog'::pg_catalog.regnamespace AND o.oprname IN (${listed}) ` +
        `AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass ` +
        `AND d.objid = o.oid AND d.deptype = 'e')`,
    );
    this.cache.learnFunctions(
      names,
      rows.flatMap(([name]) => (name ? [name] : [])),
    );
  }
}

function relationNames(json: string): { schema: string; name: string }[] {
  return (JSON.parse(json) as [string, string][]).map(([schema, name]) => ({ schema, name }));
}

/** A catalog that knows no relation and takes every function for user code. */
const UNKNOWN_CATALOG: LineageCatalog = { relations: () => [], userFunction: () => true };

function lineageOf(analysis: LineageAnalysis): readonly StatementLineage[] {
  return 'unparsed' in analysis ? [untracedStatement('SQL the parser rejects')] : analysis.statements;
}

function untracedStatement(reason: string): StatementLineage {
  return sharedUntraced(reason);
}

/**
 * The lineage facts policy decides on, added to each top-level statement's classification facts
 * (and to the statement a PREPARE prepares, which EXECUTE is later decided on).
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
