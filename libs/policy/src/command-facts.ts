/**
 * What a protocol engine learned about one command, in protocol-neutral terms. Engines fill in what
 * they know; `parseError` (or a statement type outside STATEMENT_TYPES) marks a command the engine
 * could not classify, which is denied wherever a rule depends on classification.
 */
export type CommandFacts = SqlCommandFacts | SshCommandFacts | KubernetesCommandFacts | HttpCommandFacts;

export interface SqlStatementFacts {
  /**
   * Upper case, most general keyword first: `SELECT`, `DROP`, `DROP INDEX`, `CREATE TABLE`, `COPY FROM`,
   * `TRANSACTION`. A type whose first keyword is outside STATEMENT_TYPES is unclassified.
   */
  readonly type: string;
  /** Tables the statement touches, as `table` or `schema.table`. Needed by rules that name tables. */
  readonly tables?: readonly string[];
  /** Whether an UPDATE/DELETE has a WHERE clause. Absent means unknown (fails `require_where`). */
  readonly hasWhere?: boolean;
  /** False when the engine knows the statement writes (`SELECT ... FOR UPDATE`, a data-modifying CTE). */
  readonly readOnly?: boolean;
  /** Set when the statement was found inside another (a data-modifying CTE, EXPLAIN ANALYZE). */
  readonly nestedIn?: string;
  /**
   * Kinds of opaque code the statement runs or installs (OPAQUE_KINDS: `DO`, `CREATE FUNCTION`,
   * `DYNAMIC SQL`, ...): code no guardrail can see from the SQL sent. Absent or empty when none.
   */
  readonly opaque?: readonly string[];
  /**
   * Where the statement's values come from, when the engine traced it (PostgreSQL under column
   * masking): masking rules deny writes of masked values, derived outputs (`on_derived: deny`) and
   * filters on masked columns (`predicates: deny`).
   */
  readonly lineage?: SqlLineageFacts;
}

/** A stored column (`schema`, `table`, `column`), or `{untraced: why}` where the engine lost track. */
export type LineageColumn =
  | { readonly schema: string; readonly table: string; readonly column: string }
  | { readonly untraced: string };

export interface SqlLineageFacts {
  /** Columns an output is made from other than as a plain reference (casts, functions, whole rows). */
  readonly derived: readonly LineageColumn[];
  /** Columns whose values the statement stores anywhere (tables, files, sequences, settings). */
  readonly written: readonly LineageColumn[];
  /** Columns the statement filters, joins, groups or orders by. */
  readonly filtered: readonly LineageColumn[];
  /**
   * Columns whose names the statement changes (the column, its table or schema renamed, the table
   * moved to another schema, a partition detached): masking rules would no longer name them.
   */
  readonly renamed?: readonly LineageColumn[];
}

/**
 * One query message: several statements when the client sent a multi-statement string. A
 * `parseError` (the parser rejected the text, or could not read it as the server would) makes the
 * whole command opaque code of kind `UNPARSED`.
 */
export interface SqlCommandFacts {
  readonly kind: 'sql';
  readonly statements: readonly SqlStatementFacts[];
  readonly parseError?: string;
  /**
   * With `parseError`: the engine cannot rule out that the text stores values (an INSERT, a CREATE
   * TABLE ... SELECT, an INTO, a SET from a query; or text it could not even split). Under column
   * masking such text counts as storing values whose origin cannot be traced, which is denied even
   * where `UNPARSED` is allowed: what it wrote would read as clear afterwards.
   */
  readonly unparsedMayStore?: true;
}

/** An SSH exec request, or one line of shell input. */
export interface SshCommandFacts {
  readonly kind: 'ssh';
  readonly command: string;
  readonly parseError?: string;
}

/** A Kubernetes API request, as the API server's request-info would describe it. */
export interface KubernetesCommandFacts {
  readonly kind: 'kubernetes';
  /**
   * get, list, watch, create, update, patch, delete, deletecollection; exec, attach and portforward
   * for those subresources of pods, proxy for proxy requests.
   */
  readonly verb: string;
  /**
   * The verbs Kubernetes RBAC authorizes the request as when they differ from `verb` (pods/exec
   * over WebSocket: `get` and `create`): a rule written RBAC-style catches the request too.
   */
  readonly rbacVerbs?: readonly string[];
  /** API group; empty for the core group (`/api/v1`). Absent for non-resource URLs. */
  readonly group?: string;
  /** Absent for non-resource URLs such as /healthz. */
  readonly resource?: string;
  readonly subresource?: string;
  /** Absent for cluster-scoped resources and for requests across all namespaces. */
  readonly namespace?: string;
  readonly name?: string;
  /**
   * What a JSON patch (`application/json-patch+json`) reads of the stored object: the `from` of each
   * copy and move and the `path` of each test, as sent (JSON pointers). A value read there can land
   * elsewhere in the object (an annotation, an error) or, by whether a test passes, be guessed.
   * A server-side apply is `{op: 'apply', pointer: ''}`: it compares every field it sets.
   */
  readonly patchReads?: readonly { readonly op: string; readonly pointer: string }[];
  /** Why a JSON patch's body was not read (too large, not a patch): it may read anything. */
  readonly patchUnread?: string;
  /**
   * The protocol the request switches to when the API server agrees (WebSocket, SPDY): what it then
   * carries both ways is not read (a watch's client sends nothing the server acts on).
   */
  readonly upgrade?: string;
  readonly parseError?: string;
}

/** An HTTP request; `path` as the engine read it (no query, percent-escapes decoded). */
export interface HttpCommandFacts {
  readonly kind: 'http';
  readonly method: string;
  readonly path: string;
  /** The protocol the request switches to when the target agrees (WebSocket): what it then carries is not read. */
  readonly upgrade?: string;
  /**
   * Why the method the application runs could not be read (a form POST too large to look for a
   * `_method` field in): rules that name methods cannot tell whether they apply.
   */
  readonly methodUnread?: string;
  readonly parseError?: string;
}
