/**
 * What the sessions an agent relays to one target know of each other's catalog changes. A session
 * that forwards DDL on the shared catalog (a view replaced, a table dropped and a view made under
 * its name) bumps the generation when it forwards it and again when its transaction ends (the
 * change is then committed or gone); in between it is unsettled. Every other session drops its
 * cached facts when the generation moved, reads nothing as fact while any change is unsettled, and
 * masks whole the rows of a statement whose lineage was made under an earlier generation: so a
 * second session cannot replace a view the first one's cache describes and have it read the new
 * definition in clear.
 *
 * Changes made outside this agent (a direct connection, another agent serving the same target) are
 * not seen; docs/security.md says what to grant so that they cannot be made.
 */
export class CatalogWatch {
  private changes = 0;
  private readonly inFlight = new Set<object>();

  /** Moves on at each change forwarded and each change settled. */
  get generation(): number {
    return this.changes;
  }

  /** Whether a session other than `self` has a catalog change on its way or uncommitted. */
  unsettledBy(self: object): boolean {
    return this.inFlight.size > (this.inFlight.has(self) ? 1 : 0);
  }

  /** `session` forwards a catalog change. */
  changing(session: object): void {
    this.inFlight.add(session);
    this.changes++;
  }

  /** `session`'s changes are committed or rolled back, or it ended. */
  settled(session: object): void {
    if (this.inFlight.delete(session)) this.changes++;
  }
}

/** One watch per target (the engines' key: host, port and, for PostgreSQL, the database). */
const watches = new Map<string, CatalogWatch>();

/** The watch the sessions to `target` share in this process. */
export function catalogWatch(target: string): CatalogWatch {
  let watch = watches.get(target);
  if (!watch) {
    watch = new CatalogWatch();
    watches.set(target, watch);
  }
  return watch;
}

/**
 * Opaque code kinds (the policy's OPAQUE_KINDS) that run code the SQL sent does not show: it may
 * change the catalog (EXECUTE 'CREATE OR REPLACE VIEW ...' in a DO block or a procedure), so where
 * policy allows it, running it counts as a catalog change. Kinds that install code are DDL already.
 */
const RUNS_CODE: ReadonlySet<string> = new Set([
  'DO',
  'CALL',
  'DYNAMIC SQL',
  'EXECUTE',
  'FUNCTION CALL',
  'UNPARSED',
  'COPY PROGRAM',
  'LOAD',
  'CREATE EVENT',
]);

/** Whether a statement with these opaque code kinds runs code that may change the catalog. */
export function runsCode(opaque: readonly string[] | undefined): boolean {
  return opaque?.some((kind) => RUNS_CODE.has(kind)) ?? false;
}

/**
 * Statement types (as both SQL engines' classifiers name them) that change nothing a lineage
 * analysis reads from the catalog. Every other type counts as a change (an over-approximation: it
 * only makes other sessions read the catalog again).
 */
const KEEPS_CATALOG: ReadonlySet<string> = new Set([
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'MERGE',
  'REPLACE',
  'COPY TO',
  'COPY FROM',
  'LOAD DATA',
  'SHOW',
  'SET',
  'RESET',
  'SET CONSTRAINTS',
  'EXPLAIN',
  'TRANSACTION',
  'BEGIN',
  'START TRANSACTION',
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT',
  'RELEASE',
  'DECLARE',
  'FETCH',
  'CLOSE',
  'PREPARE',
  'DEALLOCATE',
  'LISTEN',
  'UNLISTEN',
  'NOTIFY',
  'LOCK',
  'UNLOCK',
  'CHECKPOINT',
  'VACUUM',
  'ANALYZE',
  'DISCARD',
  'USE',
  'HANDLER',
  'KILL',
  'DO',
  'CALL',
]);

/**
 * Whether a classified statement may change the catalog other sessions' lineage reads: DDL, or
 * code that may run it (see runsCode). For sessions that trace no lineage themselves.
 */
export function mayChangeCatalog(facts: {
  readonly type: string;
  readonly opaque?: readonly string[];
}): boolean {
  return !KEEPS_CATALOG.has(facts.type) || runsCode(facts.opaque);
}

/**
 * A session that traces no lineage (no column rule applies to it) still changes the catalog the
 * others read: it tells their shared watch when it forwards such a change and when it settles.
 */
export class CatalogChanges {
  constructor(private readonly watch: CatalogWatch) {}

  changing(): void {
    this.watch.changing(this);
  }

  settled(): void {
    this.watch.settled(this);
  }
}
