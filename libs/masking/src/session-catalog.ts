import { CatalogWatch } from './catalog-watch';
import type { MissingRelation, StoredCatalog, StoredRelation } from './lineage-scope';

/** Rounds of catalog reads for one statement (views reveal more names): past it, the rest is untraced. */
const MAX_CATALOG_ROUNDS = 6;
const MAX_CACHED_STATEMENTS = 1024;
const MAX_CACHED_KEY_LENGTH = 16384;

/** What a dialect's lineage analysis of a query string gives: statements, or text it cannot parse. */
export type AnalysisOf<Statement, Missing> =
  { readonly statements: readonly Statement[]; readonly missing?: Missing } | { readonly unparsed: string };

/** What an analysis lacked: relations and function names to read from the target's catalog. */
export interface MissingFacts {
  readonly relations: readonly MissingRelation[];
  readonly functions: readonly string[];
}

/**
 * One session's catalog cache, for both SQL engines: the relations and functions read from the
 * target (by the engine's catalog connection), and the analyses made with them (by text, a bounded
 * LRU). DDL drops all of it (`drop`). `analyze` runs an analysis, reads what it lacks and runs it
 * again until it lacks nothing; when the catalog cannot be read, what it would have told is untraced
 * for that statement only (nothing is cached, the next statement reads again).
 *
 * The sessions an agent relays to one target share a CatalogWatch: a catalog change one of them
 * forwards drops every other session's facts too (`catchUp`), and lineage made before it no longer
 * `holds` when its statement's rows arrive (they are masked whole instead).
 */
export class SessionCatalog<Relation extends StoredRelation, Statement> {
  private readonly relations = new Map<string, readonly Relation[]>();
  private readonly userFunctions = new Map<string, boolean>();
  private readonly analyses = new Map<string, readonly Statement[]>();

  /** The watch generation the facts and analyses were read under. */
  private seen: number;
  /** The watch generation each statement's lineage was made under (see `stamp`, `holds`). */
  private made = new WeakMap<object, number>();

  /**
   * `fold`: how the dialect compares relation and function names (see LineageDialect.fold);
   * `watch`: the catalog changes of the other sessions to the same target (none: this one's alone).
   */
  constructor(
    private readonly fold: (name: string) => string,
    private readonly watch: CatalogWatch = new CatalogWatch(),
  ) {
    this.seen = watch.generation;
  }

  /**
   * Before an analysis: when a session changed the catalog since the facts were read, they are
   * dropped and this returns true (what the session prepared from them is stale too).
   */
  catchUp(): boolean {
    if (this.seen === this.watch.generation) return false;
    this.seen = this.watch.generation;
    this.drop();
    return true;
  }

  /**
   * Another session's catalog change is on its way or not committed yet: facts read now may be gone
   * by the time a statement runs, so none can be trusted (analyses are made without them).
   */
  get unsettled(): boolean {
    return this.watch.unsettledBy(this);
  }

  /** The generation an analysis starting now is made under (read it before the analysis). */
  get generation(): number {
    return this.watch.generation;
  }

  /** Marks lineage (and what a PREPARE among it prepares) as made under `generation`. */
  stamp<T extends { readonly prepared?: object }>(
    statements: readonly T[],
    generation: number,
  ): readonly T[] {
    for (const statement of statements) {
      this.made.set(statement, generation);
      if (statement.prepared) this.made.set(statement.prepared, generation);
    }
    return statements;
  }

  /** Marks `derived` as made when `from` was (a FETCH's lineage from its cursor's). */
  stampLike<T extends object>(derived: T, from: object | undefined): T {
    const generation = from === undefined ? undefined : this.made.get(from);
    if (generation !== undefined) this.made.set(derived, generation);
    return derived;
  }

  /**
   * Whether lineage still describes what the server runs: no session changed the catalog since it
   * was made, and none is changing it now. Unstamped lineage never holds.
   */
  holds(statement: object | undefined): boolean {
    if (statement === undefined) return false;
    return this.made.get(statement) === this.watch.generation && !this.watch.unsettledBy(this);
  }

  /** This session forwards a change of the shared catalog (not of its temporary objects). */
  changing(): void {
    this.own(() => this.watch.changing(this));
  }

  /**
   * This session changed the catalog only for itself (its temporary objects, which no other session
   * sees): its own lineage made before no longer holds. A temporary view takes the place of a table
   * of the same name on the search path, for the statements after it in the same string too, which
   * were traced through the table.
   */
  changedOwn(): void {
    this.made = new WeakMap();
  }

  /** Its changes are committed or rolled back (the server is idle outside a transaction), or it ended. */
  settled(): void {
    this.own(() => this.watch.settled(this));
  }

  /**
   * This session's own change moves the generation on: its own lineage made before no longer holds,
   * but it is not another session's change to catch up with (the engine drops what its own DDL
   * changes), unless one came before it unseen.
   */
  private own(change: () => void): void {
    const current = this.seen === this.watch.generation;
    change();
    if (current) this.seen = this.watch.generation;
  }

  /** The facts read so far; `undefined` for what was not read yet. */
  readonly catalog: StoredCatalog<Relation> = {
    relations: (name, schema) => this.relations.get(this.key(name, schema)),
    userFunction: (name) => this.userFunctions.get(this.fold(name)),
  };

  /** The facts read so far, the rest failing closed: no such relation, every function user code. */
  readonly blind: StoredCatalog<Relation> = {
    relations: (name, schema) => this.catalog.relations(name, schema) ?? [],
    userFunction: (name) => this.catalog.userFunction(name) ?? true,
  };

  /** A cached analysis. */
  cached(key: string): readonly Statement[] | undefined {
    return this.analyses.get(key);
  }

  /** Caches an analysis (short keys only; the oldest goes past the bound). */
  remember(key: string, statements: readonly Statement[]): void {
    if (key.length > MAX_CACHED_KEY_LENGTH) return;
    this.analyses.set(key, statements);
    if (this.analyses.size > MAX_CACHED_STATEMENTS)
      this.analyses.delete(this.analyses.keys().next().value as string);
  }

  /** The session changed the catalog (DDL): every fact and analysis made from them is dropped. */
  drop(): void {
    this.relations.clear();
    this.userFunctions.clear();
    this.analyses.clear();
  }

  /**
   * Runs `run` against the facts read so far, reading (`read`) what it lacks, until it lacks nothing
   * or the rounds run out (what is still missing is then untraced). `cacheable` is false when a read
   * failed: the analysis was then made with `blind`.
   */
  async analyze<Missing extends MissingFacts>(
    run: (catalog: StoredCatalog<Relation>) => AnalysisOf<Statement, Missing>,
    read: (missing: Missing) => Promise<void>,
  ): Promise<{ analysis: AnalysisOf<Statement, Missing>; cacheable: boolean }> {
    for (let round = 0; ; round++) {
      const analysis = run(this.catalog);
      if ('unparsed' in analysis || !analysis.missing || round >= MAX_CATALOG_ROUNDS)
        return { analysis, cacheable: true };
      try {
        await read(analysis.missing);
      } catch {
        // The catalog could not be read (the connection failed, a privilege is missing): what it
        // would have told is untraced for this statement, and read again for the next.
        return { analysis: run(this.blind), cacheable: false };
      }
    }
  }

  /**
   * Relations read for `wanted`: each wanted name gets the relations found for it (none: not in the
   * catalog). An unqualified name (a search path) gets those of every schema.
   */
  learnRelations(wanted: readonly MissingRelation[], found: readonly Relation[]): void {
    const byKey = new Map<string, Relation[]>(wanted.map((w) => [this.key(w.name, w.schema), []]));
    for (const relation of found)
      for (const key of [this.key(relation.name, undefined), this.key(relation.name, relation.schema)])
        byKey.get(key)?.push(relation);
    for (const [key, relations] of byKey) this.relations.set(key, relations);
  }

  /** Function names read: which of them are user functions (`user`, names as the catalog gives them). */
  learnFunctions(names: readonly string[], user: Iterable<string>): void {
    const users = new Set([...user].map(this.fold));
    for (const name of names) this.userFunctions.set(this.fold(name), users.has(this.fold(name)));
  }

  private key(name: string, schema: string | undefined): string {
    return `${schema === undefined ? '*' : `=${this.fold(schema)}`}\u0000${this.fold(name)}`;
  }
}
