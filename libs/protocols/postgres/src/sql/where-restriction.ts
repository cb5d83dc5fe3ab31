import { constString, list, names, text, unwrap, walk, type Node } from './ast';

/**
 * Does the WHERE clause of an UPDATE or DELETE restrict the rows it touches, or could it be true for
 * every row of the target table? `WHERE true`, `WHERE 1 = 1`, `WHERE id = id`, `WHERE x = 5 OR
 * x <> 5`, `WHERE id IN (SELECT id FROM same_table)` all touch every row; `require_where` must treat
 * them as no WHERE at all.
 *
 * The rule (docs/policy.md, "require_where"): a WHERE restricts when there is a row, with non-null
 * values in the columns it compares, for which it is not true, whatever the values of parameters,
 * other tables and subqueries. The analysis proves that by building such a row from the *pins* of the
 * predicate: a comparison of a column of the target table (bare, or cast) with a value that does not
 * come from the same row (a constant, a parameter, a column of another relation that does not read
 * the target table, a subquery over other relations, an expression of those), by `=`, `<>`, `<`,
 * `<=`, `>`, `>=`, `IS [NOT] DISTINCT FROM`, `[NOT] IN`, `= ANY`, `<> ALL`, `[NOT] BETWEEN`,
 * `[NOT] LIKE`/`ILIKE` a constant pattern, `IS NULL`, `IS [NOT] TRUE/FALSE`, a bare boolean column,
 * `EXISTS` correlated by `subquery_column = target.column`, or `WHERE CURRENT OF`. `NOT` is pushed
 * inward; constants are folded where that proves a branch false. To be false, an AND needs one false
 * part and an OR needs every part false, all in the same row: the values the chosen pins' negations
 * demand of one column must be compatible, which is decided with numbers compared as numbers, text
 * ignoring case, punctuation and leading zeros, and dates by their digits. Anything else fails
 * closed: a part that is not a pin (a function of a target column, `CASE`, a comparison of two target
 * columns, an unqualified column when other relations are joined) can never be the false part.
 *
 * What it cannot know: column types (an enum or domain with few values; a bound beyond the type's
 * range such as `id > -3000000000` on an integer), views or functions that read the target table, or
 * the data (`id > 0` when every id is positive). It reasons about the SQL, not the rows.
 */
export function whereRestricts(
  kind: string,
  body: Node,
  ctes: ReadonlyMap<string, readonly Node[]>,
): boolean {
  const where = body['whereClause'];
  if (where === undefined) return false;
  const relation = body['relation'] as Node | undefined;
  if (!relation) return false;
  const relname = text(relation['relname']);
  const alias = text((relation['alias'] as Node | undefined)?.['aliasname']);
  const others = list(body[kind === 'UpdateStmt' ? 'fromClause' : 'usingClause']);
  const scope = new Scope(relname, alias, ctes);
  for (const item of others) scope.addOther(item);
  try {
    const formula = new FormulaBuilder(scope).predicate(where, false);
    return falsifiable(formula);
  } catch (error) {
    if (error instanceof TooComplex) return false;
    throw error;
  }
}

// ---- scope: which relation a column belongs to, and what reads the target table ----------------

class Scope {
  /** Names the target can be referred to by. */
  readonly targetQualifiers: ReadonlySet<string>;
  /** Other relations in FROM/USING by qualifier, and whether they read the target table. */
  readonly others = new Map<string, boolean>();
  private readonly tainted = new Map<string, boolean>();

  constructor(
    readonly relname: string,
    alias: string,
    private readonly ctes: ReadonlyMap<string, readonly Node[]>,
  ) {
    // With an alias, PostgreSQL rejects the table's own name; accepting both is the safe side.
    this.targetQualifiers = new Set(alias ? [alias, relname] : [relname]);
  }

  get hasOthers(): boolean {
    return this.others.size > 0;
  }

  addOther(item: Node): void {
    const node = unwrap(item);
    if (!node) return;
    const [kind, body] = node;
    if (kind === 'JoinExpr') {
      this.addOther(body['larg'] as Node);
      this.addOther(body['rarg'] as Node);
      return;
    }
    const alias = text((body['alias'] as Node | undefined)?.['aliasname']);
    const name = kind === 'RangeVar' ? text(body['relname']) : '';
    const qualifier = alias || name || `?${this.others.size}`;
    this.others.set(qualifier, this.readsTarget(item));
  }

  /** Whether a relation, subquery or expression reads the target table (by name, or through a CTE). */
  readsTarget(node: unknown, seen: ReadonlySet<string> = new Set()): boolean {
    let reads = false;
    walk(node, (key, value) => {
      if (reads) return false;
      if (key === 'RangeVar') {
        const name = text((value as Node)['relname']);
        if (name === this.relname || this.cteReadsTarget(name, seen)) reads = true;
      }
      return !reads;
    });
    return reads;
  }

  private cteReadsTarget(name: string, seen: ReadonlySet<string>): boolean {
    const bodies = this.ctes.get(name);
    if (!bodies || seen.has(name)) return false;
    let known = this.tainted.get(name);
    if (known === undefined) {
      const next = new Set(seen).add(name);
      known = bodies.some((b) => this.readsTarget(b, next));
      this.tainted.set(name, known);
    }
    return known;
  }
}

// ---- values and formulas ----------------------------------------------------------------------

type Literal =
  | { readonly kind: 'num'; readonly n: number }
  | { readonly kind: 'str'; readonly s: string }
  | { readonly kind: 'bool'; readonly b: boolean }
  | { readonly kind: 'null' };
/** A value that does not come from the target row: a literal, or unknown (`sym`). */
type Independent = Literal | { readonly kind: 'sym' };

type Value =
  | { readonly t: 'target'; readonly column: string; readonly cast: string }
  | { readonly t: 'independent'; readonly value: Independent }
  /** Depends on the target row in a way the analysis does not follow (or cannot tell). */
  | { readonly t: 'row' };

/** The set of values a pin lets its column have. */
type Constraint =
  | { readonly c: 'in'; readonly values: readonly Independent[] }
  | { readonly c: 'notin'; readonly values: readonly Independent[] }
  | { readonly c: 'range'; readonly op: '<' | '<=' | '>' | '>='; readonly value: Independent }
  | { readonly c: 'like'; readonly pattern: string; readonly ci: boolean; readonly negated: boolean }
  | { readonly c: 'null' }
  /** Any non-null value: the negation of IS NULL. */
  | { readonly c: 'notnull' };

interface Pin {
  readonly column: string;
  readonly cast: string;
  readonly boolean: boolean;
  readonly constraint: Constraint;
}

type Formula =
  | { readonly f: 'and' | 'or'; readonly items: readonly Formula[] }
  | { readonly f: 'pin'; readonly pin: Pin }
  /** Never true: a branch that needs no falsifying. */
  | { readonly f: 'false' }
  /** Could be true for every row (a constant, an unknown condition): never the false part. */
  | { readonly f: 'unknown' };

const UNKNOWN: Formula = { f: 'unknown' };
const FALSE: Formula = { f: 'false' };

class TooComplex extends Error {}

const COMPARISONS: Record<string, '=' | '<>' | '<' | '<=' | '>' | '>='> = {
  '=': '=',
  '<>': '<>',
  '!=': '<>',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};
const FLIP: Record<string, '=' | '<>' | '<' | '<=' | '>' | '>='> = {
  '=': '=',
  '<>': '<>',
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
};
const NEGATE: Record<string, '=' | '<>' | '<' | '<=' | '>' | '>='> = {
  '=': '<>',
  '<>': '=',
  '<': '>=',
  '<=': '>',
  '>': '<=',
  '>=': '<',
};
const LIKE_OPERATORS: Record<string, { ci: boolean; negated: boolean }> = {
  '~~': { ci: false, negated: false },
  '!~~': { ci: false, negated: true },
  '~~*': { ci: true, negated: false },
  '!~~*': { ci: true, negated: true },
};

class FormulaBuilder {
  constructor(private readonly scope: Scope) {}

  /** The predicate as a formula in negation normal form (`negated`: build NOT predicate). */
  predicate(node: unknown, negated: boolean): Formula {
    const unwrapped = unwrap(node);
    if (!unwrapped) return UNKNOWN;
    const [kind, body] = unwrapped;
    switch (kind) {
      case 'BoolExpr': {
        const args = list(body['args']);
        const op = text(body['boolop']);
        if (op === 'NOT_EXPR') return this.predicate(args[0], !negated);
        const isAnd = (op === 'AND_EXPR') !== negated;
        return { f: isAnd ? 'and' : 'or', items: args.map((a) => this.predicate(a, negated)) };
      }
      case 'A_Const':
      case 'TypeCast': {
        const value = this.value(node);
        if (value.t === 'independent') return constantTruth(value.value, negated);
        if (value.t === 'target') return this.bareBoolean(value, negated);
        return UNKNOWN;
      }
      case 'ColumnRef': {
        const value = this.value(node);
        return value.t === 'target' ? this.bareBoolean(value, negated) : UNKNOWN;
      }
      case 'A_Expr':
        return this.expression(body, negated);
      case 'NullTest': {
        const value = this.value(body['arg']);
        const isNull = text(body['nulltesttype']) === 'IS_NULL';
        if (value.t === 'independent') {
          if (value.value.kind === 'sym') return UNKNOWN;
          return constantTruth({ kind: 'bool', b: (value.value.kind === 'null') === isNull }, negated);
        }
        if (value.t !== 'target') return UNKNOWN;
        return this.pin(value, isNull !== negated ? { c: 'null' } : { c: 'notnull' });
      }
      case 'BooleanTest':
        return this.booleanTest(body, negated);
      case 'SubLink':
        return this.subLink(body, negated);
      case 'CoalesceExpr': {
        // COALESCE(literal, ...) is its first non-null literal argument.
        for (const arg of list(body['args'])) {
          const value = this.value(arg);
          if (value.t !== 'independent' || value.value.kind === 'sym') return UNKNOWN;
          if (value.value.kind !== 'null') return constantTruth(value.value, negated);
        }
        return FALSE;
      }
      case 'CurrentOfExpr':
        // WHERE CURRENT OF cursor: the one row the cursor is on.
        return negated
          ? UNKNOWN
          : this.pin({ t: 'target', column: 'ctid', cast: '' }, { c: 'in', values: [{ kind: 'sym' }] });
      default:
        return UNKNOWN;
    }
  }

  private bareBoolean(value: Extract<Value, { t: 'target' }>, negated: boolean): Formula {
    return this.pin(value, { c: 'in', values: [{ kind: 'bool', b: !negated }] }, true);
  }

  private pin(value: Extract<Value, { t: 'target' }>, constraint: Constraint, boolean = false): Formula {
    // Compared with true/false ('t', 'yes', 'off', ...): possibly a boolean, whose values two literals cover.
    const booleanValues =
      (constraint.c === 'in' || constraint.c === 'notin') &&
      constraint.values.some((v) => v.kind === 'bool' || (v.kind === 'str' && BOOLEAN_WORDS.test(v.s)));
    return {
      f: 'pin',
      pin: { column: value.column, cast: value.cast, boolean: boolean || booleanValues, constraint },
    };
  }

  private expression(body: Node, negated: boolean): Formula {
    const kind = text(body['kind']);
    const operator = operatorName(body['name']);
    if (operator === undefined) return UNKNOWN;
    switch (kind) {
      case 'AEXPR_OP': {
        const like = LIKE_OPERATORS[operator];
        if (like) return this.like(body, like.ci, like.negated !== negated);
        const comparison = COMPARISONS[operator];
        if (!comparison) return UNKNOWN;
        const [l, r] = [body['lexpr'], body['rexpr']];
        // (a, b) = (1, 2) is a = 1 AND b = 2; <> is its negation.
        const rows = [unwrap(l), unwrap(r)];
        if (
          rows[0]?.[0] === 'RowExpr' &&
          rows[1]?.[0] === 'RowExpr' &&
          (comparison === '=' || comparison === '<>')
        ) {
          const left = list(rows[0][1]['args']);
          const right = list(rows[1][1]['args']);
          if (left.length !== right.length) return UNKNOWN;
          const negate = (comparison === '<>') !== negated;
          return {
            f: negate ? 'or' : 'and',
            items: left.map((a, i) => this.comparison(a, '=', right[i], negate)),
          };
        }
        return this.comparison(l, comparison, r, negated);
      }
      case 'AEXPR_DISTINCT':
      case 'AEXPR_NOT_DISTINCT': {
        if (operator !== '=') return UNKNOWN;
        const distinct = (kind === 'AEXPR_DISTINCT') !== negated;
        const [target, other] = this.oriented(body['lexpr'], body['rexpr']);
        if (!target || !other) return UNKNOWN;
        // IS [NOT] DISTINCT FROM NULL is IS [NOT] NULL.
        if (other.value.kind === 'null') return this.pin(target, distinct ? { c: 'notnull' } : { c: 'null' });
        return this.pin(target, { c: distinct ? 'notin' : 'in', values: [other.value] });
      }
      case 'AEXPR_IN': {
        const items = list(
          (body['rexpr'] as Node | undefined)?.['List']
            ? ((body['rexpr'] as Node)['List'] as Node)['items']
            : body['rexpr'],
        );
        const target = this.value(body['lexpr']);
        if (target.t !== 'target') return UNKNOWN;
        const values = items.map((item) => this.value(item));
        if (!values.every((v): v is Extract<Value, { t: 'independent' }> => v.t === 'independent'))
          return UNKNOWN;
        const isIn = (operator === '=') !== negated;
        const nonNull = values.map((v) => v.value).filter((v) => v.kind !== 'null');
        // NOT IN (..., NULL) is never true; IN (..., NULL) is IN without the NULL.
        if (!isIn && nonNull.length < values.length) return FALSE;
        if (isIn && nonNull.length === 0) return FALSE;
        return this.pin(target, { c: isIn ? 'in' : 'notin', values: nonNull });
      }
      case 'AEXPR_OP_ANY':
      case 'AEXPR_OP_ALL': {
        const target = this.value(body['lexpr']);
        const array = this.arrayValues(body['rexpr']);
        if (target.t !== 'target' || !array) return UNKNOWN;
        // = ANY(array) is IN; <> ALL(array) is NOT IN.
        const isAny = kind === 'AEXPR_OP_ANY';
        if (!((isAny && operator === '=') || (!isAny && operator === '<>'))) return UNKNOWN;
        const isIn = isAny !== negated;
        return this.pin(target, { c: isIn ? 'in' : 'notin', values: array });
      }
      case 'AEXPR_BETWEEN':
      case 'AEXPR_NOT_BETWEEN': {
        const bounds = list(((body['rexpr'] as Node | undefined)?.['List'] as Node | undefined)?.['items']);
        if (bounds.length !== 2) return UNKNOWN;
        const between = (kind === 'AEXPR_BETWEEN') !== negated;
        const low = this.comparison(body['lexpr'], between ? '>=' : '<', bounds[0], false);
        const high = this.comparison(body['lexpr'], between ? '<=' : '>', bounds[1], false);
        return { f: between ? 'and' : 'or', items: [low, high] };
      }
      case 'AEXPR_LIKE':
      case 'AEXPR_ILIKE': {
        const like = LIKE_OPERATORS[operator];
        return like ? this.like(body, like.ci, like.negated !== negated) : UNKNOWN;
      }
      default:
        // SIMILAR TO, BETWEEN SYMMETRIC, NULLIF, ...: not pins.
        return UNKNOWN;
    }
  }

  /** A comparison `l op r`, a pin when one side is a target column and the other independent. */
  private comparison(l: unknown, op: string, r: unknown, negated: boolean): Formula {
    const effective = negated ? (NEGATE[op] as string) : op;
    let left = this.value(l);
    let right = this.value(r);
    // A subquery compared with a target column is independent unless it could read that column.
    if (left.t === 'target' && right.t === 'row') right = this.value(r, left.column);
    if (right.t === 'target' && left.t === 'row') left = this.value(l, right.column);
    if (left.t === 'independent' && right.t === 'independent')
      return foldComparison(left.value, effective, right.value);
    let target: Extract<Value, { t: 'target' }>;
    let other: Independent;
    let oriented = effective;
    if (left.t === 'target' && right.t === 'independent') {
      target = left;
      other = right.value;
    } else if (right.t === 'target' && left.t === 'independent') {
      target = right;
      other = left.value;
      oriented = FLIP[effective] as string;
    } else {
      return UNKNOWN;
    }
    // A comparison with NULL is never true, negated or not.
    if (other.kind === 'null') return FALSE;
    switch (oriented) {
      case '=':
        return this.pin(target, { c: 'in', values: [other] });
      case '<>':
        return this.pin(target, { c: 'notin', values: [other] });
      default:
        return this.pin(target, { c: 'range', op: oriented as '<' | '<=' | '>' | '>=', value: other });
    }
  }

  private like(body: Node, ci: boolean, negated: boolean): Formula {
    const target = this.value(body['lexpr']);
    let patternNode = body['rexpr'];
    let escape = '\\';
    const call = unwrap(patternNode)?.[0] === 'FuncCall' ? unwrap(patternNode)?.[1] : undefined;
    if (call && names(call['funcname']).at(-1) === 'like_escape') {
      const [pattern, esc] = list(call['args']);
      patternNode = pattern;
      const escapeText = constString(esc);
      if (escapeText === undefined || escapeText.length > 1) return UNKNOWN;
      escape = escapeText;
    }
    const pattern = constString(patternNode);
    if (target.t !== 'target' || pattern === undefined) return UNKNOWN;
    const parsed = parseLike(pattern, escape);
    // Only wildcards: `%` matches every string (LIKE '%' is true for every non-null value).
    if (parsed.every((p) => p === '%')) return negated ? FALSE : UNKNOWN;
    return this.pin(target, { c: 'like', pattern: likeSource(parsed), ci, negated });
  }

  private booleanTest(body: Node, negated: boolean): Formula {
    const test = text(body['booltesttype']);
    const arg = body['arg'];
    const value = this.value(arg);
    if (test === 'IS_UNKNOWN' || test === 'IS_NOT_UNKNOWN') {
      if (value.t !== 'target') return UNKNOWN;
      const isNull = (test === 'IS_UNKNOWN') !== negated;
      return this.pin(value, isNull ? { c: 'null' } : { c: 'notnull' });
    }
    // For the non-null rows the analysis builds, IS TRUE and IS NOT FALSE are the predicate itself,
    // IS FALSE and IS NOT TRUE its negation.
    const positive = test === 'IS_TRUE' || test === 'IS_NOT_FALSE';
    if (value.t === 'target') {
      const wanted = positive !== negated;
      return this.pin(value, { c: 'in', values: [{ kind: 'bool', b: wanted }] }, true);
    }
    return this.predicate(arg, positive === negated);
  }

  private subLink(body: Node, negated: boolean): Formula {
    const type = text(body['subLinkType']);
    const subselect = body['subselect'];
    if (type === 'EXISTS_SUBLINK') {
      // EXISTS (SELECT ... FROM other WHERE other.c = target.k AND ...) implies k IN (other.c).
      if (negated) return UNKNOWN;
      const correlated = this.correlation(subselect);
      return correlated ? this.pin(correlated, { c: 'in', values: [{ kind: 'sym' }] }) : UNKNOWN;
    }
    if (type === 'ANY_SUBLINK' || type === 'ALL_SUBLINK') {
      const target = this.value(body['testexpr']);
      const operator = operatorName(body['operName']) ?? '=';
      if (target.t !== 'target' || !this.independentQuery(subselect, target.column)) return UNKNOWN;
      const isAny = type === 'ANY_SUBLINK';
      if (!((isAny && operator === '=') || (!isAny && operator === '<>'))) return UNKNOWN;
      return this.pin(target, { c: isAny !== negated ? 'in' : 'notin', values: [{ kind: 'sym' }] });
    }
    // (SELECT true), ARRAY(...), ...: a value of the whole query, not of the row.
    return UNKNOWN;
  }

  /** The target column an EXISTS subquery is tied to by `other_column = target.column` in its WHERE. */
  private correlation(subselect: unknown): Extract<Value, { t: 'target' }> | undefined {
    const select = unwrap(subselect);
    if (select?.[0] !== 'SelectStmt') return undefined;
    // Plain relations only: a subquery or function in FROM could be computed from the outer row.
    const from = list(select[1]['fromClause']);
    if (this.scope.readsTarget(from) || !from.every(plainRelations)) return undefined;
    const local = localQualifiers(select[1]);
    const conjuncts = andItems(select[1]['whereClause']);
    for (const conjunct of conjuncts) {
      const expr = unwrap(conjunct);
      if (
        expr?.[0] !== 'A_Expr' ||
        text(expr[1]['kind']) !== 'AEXPR_OP' ||
        operatorName(expr[1]['name']) !== '='
      )
        continue;
      for (const [a, b] of [
        [expr[1]['lexpr'], expr[1]['rexpr']],
        [expr[1]['rexpr'], expr[1]['lexpr']],
      ]) {
        const target = this.qualifiedTarget(a, local);
        if (target && this.localOnly(b, local, target.column)) return target;
      }
    }
    return undefined;
  }

  /** `t.col` (or `schema.t.col`) naming the outer target, not a relation of the subquery. */
  private qualifiedTarget(
    node: unknown,
    local: ReadonlySet<string>,
  ): Extract<Value, { t: 'target' }> | undefined {
    const ref = unwrap(node);
    if (ref?.[0] !== 'ColumnRef') return undefined;
    const fields = names(ref[1]['fields']);
    if (fields.length < 2) return undefined;
    const qualifier = fields[fields.length - 2] as string;
    if (local.has(qualifier) || !this.scope.targetQualifiers.has(qualifier)) return undefined;
    return { t: 'target', column: fields[fields.length - 1] as string, cast: '' };
  }

  /** An expression over the subquery's own relations (qualified), constants and parameters only. */
  private localOnly(node: unknown, local: ReadonlySet<string>, column: string): boolean {
    let ok = true;
    walk({ root: node }, (key, value) => {
      if (!ok) return false;
      if (key === 'ColumnRef') {
        const fields = names((value as Node)['fields']);
        if (fields.length < 2 || !local.has(fields[fields.length - 2] as string)) ok = false;
      }
      if (key === 'SubLink' && !this.independentQuery((value as Node)['subselect'], column)) ok = false;
      return ok;
    });
    return ok;
  }

  /**
   * Whether a subquery yields values that do not come from the target row: it reads no relation
   * that reads the target table, names no column through the target's name or alias (unless a
   * relation of its own has that name), and has no unqualified column named like the compared
   * target column (which PostgreSQL resolves to the outer row when no relation of its own has it:
   * `id IN (SELECT id FROM pg_class)` is `id IN (SELECT t.id ...)`, true for every row).
   */
  private independentQuery(subselect: unknown, column: string): boolean {
    if (this.scope.readsTarget(subselect)) return false;
    const local = new Set<string>();
    walk(subselect, (key, value) => {
      for (const q of key === 'SelectStmt' ? localQualifiers(value as Node) : []) local.add(q);
      return true;
    });
    let ok = true;
    walk(subselect, (key, value) => {
      if (!ok) return false;
      if (key !== 'ColumnRef') return true;
      const fields = names((value as Node)['fields']);
      const last = fields[fields.length - 1];
      if (fields.length === 1 && last === column) ok = false;
      if (fields.length >= 2) {
        const qualifier = fields[fields.length - 2] as string;
        if (
          !local.has(qualifier) &&
          (this.scope.targetQualifiers.has(qualifier) || this.scope.others.get(qualifier) === true)
        )
          ok = false;
      }
      return ok;
    });
    return ok;
  }

  /** `ARRAY[1, 2]` or `'{1,2}'` as literals; any other independent array as unknown values. */
  private arrayValues(node: unknown): Independent[] | undefined {
    const unwrapped = unwrap(node);
    if (unwrapped?.[0] === 'A_ArrayExpr') {
      const values = list(unwrapped[1]['elements']).map((e) => this.value(e));
      if (!values.every((v): v is Extract<Value, { t: 'independent' }> => v.t === 'independent'))
        return undefined;
      return values.map((v) => v.value).filter((v) => v.kind !== 'null');
    }
    const value = this.value(node);
    return value.t === 'independent' ? [{ kind: 'sym' }] : undefined;
  }

  /** Two values, the target column first, when one side is a target column and the other independent. */
  private oriented(
    l: unknown,
    r: unknown,
  ): [Extract<Value, { t: 'target' }> | undefined, Extract<Value, { t: 'independent' }> | undefined] {
    const [a, b] = [this.value(l), this.value(r)];
    if (a.t === 'target' && b.t === 'independent') return [a, b];
    if (b.t === 'target' && a.t === 'independent') return [b, a];
    return [undefined, undefined];
  }

  /**
   * What a value expression is, with respect to the target row. `column`: the target column it is
   * compared with, which a subquery must not mention unqualified.
   */
  value(node: unknown, column?: string): Value {
    const unwrapped = unwrap(node);
    if (!unwrapped) return ROW;
    const [kind, body] = unwrapped;
    switch (kind) {
      case 'A_Const':
        return { t: 'independent', value: literal(body) };
      case 'ParamRef':
      case 'SQLValueFunction':
        return SYM;
      case 'TypeCast': {
        const inner = this.value(body['arg']);
        const type = names((body['typeName'] as Node | undefined)?.['names']).at(-1) ?? '?';
        if (inner.t === 'target') return { ...inner, cast: `${inner.cast}::${type}` };
        if (inner.t === 'independent' && (type === 'bool' || type === 'boolean')) {
          const b = asBoolean(inner.value);
          return {
            t: 'independent',
            value:
              b === undefined
                ? inner.value.kind === 'null'
                  ? inner.value
                  : { kind: 'sym' }
                : { kind: 'bool', b },
          };
        }
        return inner;
      }
      case 'CollateClause':
        return this.value(body['arg']);
      case 'ColumnRef':
        return this.columnRef(names(body['fields']), list(body['fields']));
      case 'SubLink':
        // A subquery's value is independent when the subquery is (see independentQuery); with no
        // column to check against, any unqualified column in it could be the outer row's.
        if (column !== undefined) return this.independentQuery(body['subselect'], column) ? SYM : ROW;
        return this.independentQuery(body['subselect'], '') && !hasUnqualifiedColumn(body['subselect'])
          ? SYM
          : ROW;
      default: {
        // An expression: independent when nothing in it refers to the target row.
        let dependent = false;
        walk({ root: body }, (key, value) => {
          if (dependent) return false;
          if (key === 'ColumnRef' && this.value({ ColumnRef: value }).t !== 'independent') dependent = true;
          if (key === 'SubLink' && this.value({ SubLink: value }).t !== 'independent') dependent = true;
          return !dependent && key !== 'ColumnRef' && key !== 'SubLink';
        });
        return dependent ? ROW : SYM;
      }
    }
  }

  private columnRef(fields: string[], raw: Node[]): Value {
    if (raw.some((f) => f['A_Star'] !== undefined)) return ROW;
    const column = fields[fields.length - 1] as string;
    if (fields.length === 1) {
      // Unqualified: the target's column, unless other relations are joined (then it could be theirs).
      return this.scope.hasOthers ? ROW : { t: 'target', column, cast: '' };
    }
    const qualifier = fields[fields.length - 2] as string;
    if (this.scope.targetQualifiers.has(qualifier)) return { t: 'target', column, cast: '' };
    const readsTarget = this.scope.others.get(qualifier);
    return readsTarget === false ? SYM : ROW;
  }
}

const ROW: Value = { t: 'row' };
const SYM: Value = { t: 'independent', value: { kind: 'sym' } };

function operatorName(value: unknown): string | undefined {
  const parts = names(value);
  // OPERATOR(pg_catalog.=) is the built-in; an operator from another schema could mean anything.
  if (parts.length === 2 && parts[0] !== 'pg_catalog') return undefined;
  if (parts.length > 2) return undefined;
  return parts.at(-1);
}

function plainRelations(item: Node): boolean {
  const node = unwrap(item);
  if (node?.[0] === 'RangeVar') return true;
  return (
    node?.[0] === 'JoinExpr' &&
    plainRelations(node[1]['larg'] as Node) &&
    plainRelations(node[1]['rarg'] as Node)
  );
}

function andItems(node: unknown): unknown[] {
  const unwrapped = unwrap(node);
  if (unwrapped?.[0] === 'BoolExpr' && text(unwrapped[1]['boolop']) === 'AND_EXPR')
    return list(unwrapped[1]['args']).flatMap((a) => andItems(a));
  return node === undefined ? [] : [node];
}

function localQualifiers(select: Node): Set<string> {
  const qualifiers = new Set<string>();
  const add = (item: unknown) => {
    const node = unwrap(item);
    if (!node) return;
    const [kind, body] = node;
    if (kind === 'JoinExpr') {
      add(body['larg']);
      add(body['rarg']);
      return;
    }
    const alias = text((body['alias'] as Node | undefined)?.['aliasname']);
    if (alias) qualifiers.add(alias);
    if (kind === 'RangeVar') qualifiers.add(text(body['relname']));
  };
  for (const item of list(select['fromClause'])) add(item);
  return qualifiers;
}

function hasUnqualifiedColumn(node: unknown): boolean {
  let found = false;
  walk(node, (key, value) => {
    if (key === 'ColumnRef' && list((value as Node)['fields']).length === 1) found = true;
    return !found;
  });
  return found;
}

function literal(constant: Node): Literal {
  if (constant['isnull'] === true) return { kind: 'null' };
  const sval = constant['sval'] as Node | undefined;
  if (sval) return { kind: 'str', s: text(sval['sval']) };
  const ival = constant['ival'] as Node | undefined;
  if (ival) return { kind: 'num', n: Number(ival['ival'] ?? 0) };
  const fval = constant['fval'] as Node | undefined;
  if (fval) {
    const n = Number(text(fval['fval']));
    return Number.isFinite(n) ? { kind: 'num', n } : { kind: 'str', s: text(fval['fval']) };
  }
  const boolval = constant['boolval'] as Node | undefined;
  if (boolval) return { kind: 'bool', b: boolval['boolval'] === true };
  return { kind: 'str', s: '' };
}

const BOOLEAN_WORDS = /^\s*(t|tr|tru|true|y|ye|yes|on|f|fa|fal|fals|false|n|no|of|off)\s*$/i;
const TRUE_WORDS = new Set(['t', 'tr', 'tru', 'true', 'y', 'ye', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['f', 'fa', 'fal', 'fals', 'false', 'n', 'no', 'of', 'off', '0']);

function asBoolean(value: Independent): boolean | undefined {
  if (value.kind === 'bool') return value.b;
  if (value.kind === 'num') return value.n === 1 ? true : value.n === 0 ? false : undefined;
  if (value.kind === 'str') {
    const word = value.s.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  return undefined;
}

/** A constant used as the WHERE (or a part of it): false only when it is a known false. */
function constantTruth(value: Independent, negated: boolean): Formula {
  if (value.kind === 'null') return FALSE; // NULL and NOT NULL are both never true
  const b = asBoolean(value);
  if (b === undefined) return UNKNOWN;
  return b !== negated ? UNKNOWN : FALSE;
}

/** A comparison of two constants: false when it provably is, otherwise possibly true for all rows. */
function foldComparison(a: Independent, op: string, b: Independent): Formula {
  if (a.kind === 'null' || b.kind === 'null') return FALSE;
  const order = compare(a, b);
  if (order === undefined) {
    if (op === '=' && definitelyDifferent(a, b)) return FALSE;
    if (op === '<>' && !definitelyDifferent(a, b) && equalLiterals(a, b)) return FALSE;
    return UNKNOWN;
  }
  const holds =
    op === '='
      ? order === 0
      : op === '<>'
        ? order !== 0
        : op === '<'
          ? order < 0
          : op === '<='
            ? order <= 0
            : op === '>'
              ? order > 0
              : order >= 0;
  return holds ? UNKNOWN : FALSE;
}

// ---- literals: equality and order that hold whatever the column's type -------------------------

function numberOf(value: Independent): number | undefined {
  if (value.kind === 'num') return value.n;
  if (value.kind === 'str' && /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(value.s))
    return Number(value.s);
  return undefined;
}

/** Text as types compare it at their most lenient: case, punctuation, spacing and leading zeros ignored. */
function textKey(s: string): string {
  return (s.toLowerCase().match(/[a-z]+|\d+|[^\sa-z\d\p{P}\p{S}]+/gu) ?? [])
    .map((token) => (/^\d+$/.test(token) ? token.replace(/^0+(?=\d)/, '') : token))
    .join('|');
}

/** True only when the two values are equal under any type PostgreSQL could compare them as. */
function equalLiterals(a: Independent, b: Independent): boolean {
  if (a.kind === 'sym' || b.kind === 'sym') return false;
  if (a.kind === 'bool' || b.kind === 'bool') {
    const [p, q] = [asBoolean(a), asBoolean(b)];
    return p !== undefined && p === q;
  }
  const [x, y] = [numberOf(a), numberOf(b)];
  if (x !== undefined && y !== undefined) return x === y;
  if (a.kind === 'str' && b.kind === 'str') return a.s === b.s;
  return false;
}

/** True only when the two values differ under any type PostgreSQL could compare them as. */
function definitelyDifferent(a: Independent, b: Independent): boolean {
  if (a.kind === 'sym' || b.kind === 'sym' || a.kind === 'null' || b.kind === 'null') return false;
  const [x, y] = [numberOf(a), numberOf(b)];
  if (x !== undefined && y !== undefined) return x !== y;
  const [p, q] = [asBoolean(a), asBoolean(b)];
  if ((a.kind === 'bool' || b.kind === 'bool') && p !== undefined && q !== undefined) return p !== q;
  if (a.kind === 'str' && b.kind === 'str') return textKey(a.s) !== textKey(b.s);
  return false;
}

const ISO_DATE = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*$/;

/** Numeric order of two literals (numbers, or ISO dates and times), or undefined when unknown. */
function compare(a: Independent, b: Independent): number | undefined {
  const [x, y] = [numberOf(a), numberOf(b)];
  if (x !== undefined && y !== undefined) return Math.sign(x - y);
  const [d, e] = [dateOf(a), dateOf(b)];
  if (d !== undefined && e !== undefined) return Math.sign(d - e);
  return undefined;
}

function dateOf(value: Independent): number | undefined {
  if (value.kind !== 'str') return undefined;
  const m = ISO_DATE.exec(value.s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  return (
    Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0)) +
    Number(frac ?? 0) * 1000
  );
}

/** Values beyond which no value of any ordered type lies (`x <= 'infinity'` is true for every x). */
function extreme(value: Independent): 'max' | 'min' | undefined {
  if (value.kind !== 'str') return undefined;
  const word = value.s.trim().toLowerCase();
  if (word === 'infinity' || word === '+infinity' || word === 'nan') return 'max';
  if (word === '-infinity') return 'min';
  return undefined;
}

// ---- LIKE patterns -------------------------------------------------------------------------------

/** A LIKE pattern as its parts: '%', '_' and literal characters (as one-character strings prefixed by `=`). */
function parseLike(pattern: string, escape: string): string[] {
  const parts: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (escape !== '' && c === escape && i + 1 < pattern.length) parts.push(`=${pattern[++i] as string}`);
    else if (c === '%' || c === '_') parts.push(c);
    else parts.push(`=${c}`);
  }
  return parts;
}

function likeSource(parts: readonly string[]): string {
  return JSON.stringify(parts);
}

function likeMatches(value: string, source: string, ci: boolean): boolean {
  const parts = JSON.parse(source) as string[];
  const regex = parts
    .map((p) =>
      p === '%' ? '[\\s\\S]*' : p === '_' ? '[\\s\\S]' : p.slice(1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${regex}$`, ci ? 'iu' : 'u').test(value);
}

function likeLiterals(source: string): string[] {
  return (JSON.parse(source) as string[]).filter((p) => p.startsWith('=')).map((p) => p.slice(1));
}

/**
 * Strings to try against LIKE constraints: a pattern that must match, with its wildcards filled by
 * characters the patterns to avoid do not use (`%` as 0 to 3 of them); with none to match, runs of
 * such a character of every length up to past the longest pattern.
 */
function likeCandidates(likes: readonly Extract<Constraint, { c: 'like' }>[]): string[] {
  const used = new Set(likes.flatMap((c) => likeLiterals(c.pattern).map((ch) => ch.toLowerCase())));
  const fillers = [...'zqxj0~'].filter((ch) => !used.has(ch)).slice(0, 2);
  const matching = likes.find((c) => !c.negated);
  const candidates: string[] = [];
  for (const filler of fillers) {
    if (matching) {
      const parts = JSON.parse(matching.pattern) as string[];
      for (let n = 0; n <= 3; n++)
        candidates.push(
          parts.map((p) => (p === '%' ? filler.repeat(n) : p === '_' ? filler : p.slice(1))).join(''),
        );
    } else {
      const longest = Math.max(...likes.map((c) => (JSON.parse(c.pattern) as string[]).length));
      for (let n = 0; n <= longest + 1; n++) candidates.push(filler.repeat(n));
    }
  }
  return candidates;
}

// ---- the search for a row that makes the WHERE not true -----------------------------------------

/** The constraints the row must meet, per column (the negations of the pins chosen to be false). */
type Demands = ReadonlyMap<string, readonly Pin[]>;

const MAX_STEPS = 20_000;

function falsifiable(formula: Formula): boolean {
  let steps = 0;
  const step = () => {
    if (++steps > MAX_STEPS) throw new TooComplex();
  };
  const falsify = (node: Formula, demands: Demands, next: (d: Demands) => boolean): boolean => {
    step();
    switch (node.f) {
      case 'false':
        return next(demands);
      case 'unknown':
        return false;
      case 'pin': {
        const negation = negatePin(node.pin);
        if (!negation) return false;
        const column = [...(demands.get(node.pin.column) ?? []), negation];
        if (!satisfiable(column)) return false;
        return next(new Map(demands).set(node.pin.column, column));
      }
      case 'and':
        return node.items.some((item) => falsify(item, demands, next));
      case 'or': {
        const all = (index: number, d: Demands): boolean =>
          index === node.items.length
            ? next(d)
            : falsify(node.items[index] as Formula, d, (d2) => all(index + 1, d2));
        return all(0, demands);
      }
    }
  };
  return falsify(formula, new Map(), () => true);
}

/** The pin that holds exactly when `pin` does not (for non-null values), or undefined if none. */
function negatePin(pin: Pin): Pin | undefined {
  const c = pin.constraint;
  const of = (constraint: Constraint): Pin => ({ ...pin, constraint });
  switch (c.c) {
    case 'in':
      return of({ c: 'notin', values: c.values });
    case 'notin':
      return of({ c: 'in', values: c.values });
    case 'range':
      return of({ c: 'range', op: NEGATE[c.op] as '<' | '<=' | '>' | '>=', value: c.value });
    case 'like':
      return of({ ...c, negated: !c.negated });
    case 'null':
      return of({ c: 'notnull' });
    case 'notnull':
      // The row the analysis builds has no NULLs: IS NOT NULL cannot be made false.
      return undefined;
  }
}

/** Can one non-null value of a column meet all these constraints (whatever the column's type)? */
function satisfiable(pins: readonly Pin[]): boolean {
  // The same column under different casts: the analysis cannot relate `id` and `id::text`.
  if (new Set(pins.map((p) => p.cast)).size > 1) return false;
  const constraints = pins.map((p) => p.constraint).filter((c) => c.c !== 'notnull');
  const isBoolean = pins.some((p) => p.boolean);
  if (isBoolean) return [true, false].some((b) => constraints.every((c) => holds(c, { kind: 'bool', b })));

  const ins = constraints.filter((c): c is Extract<Constraint, { c: 'in' }> => c.c === 'in');
  const others = constraints.filter((c) => c.c !== 'in');
  if (ins.length > 0) {
    // The value must be one of a listed set: try each listed literal against everything else.
    const [first, ...rest] = ins;
    for (const candidate of first?.values ?? []) {
      if (candidate.kind === 'sym') {
        // An unknown value (a parameter, a subquery's rows) meets the others only if there are none.
        if (constraints.length === 1) return true;
        continue;
      }
      if (
        rest.every((c) => c.values.some((v) => equalLiterals(v, candidate))) &&
        others.every((c) => holds(c, candidate))
      )
        return true;
    }
    return false;
  }
  const notins = others.filter((c): c is Extract<Constraint, { c: 'notin' }> => c.c === 'notin');
  const ranges = others.filter((c): c is Extract<Constraint, { c: 'range' }> => c.c === 'range');
  const likes = others.filter((c): c is Extract<Constraint, { c: 'like' }> => c.c === 'like');
  if (likes.length > 0) {
    // Strings: look for one that matches the patterns it must and avoids the others and the
    // excluded values. A string found is proof; none found among the candidates counts as none.
    if (ranges.length > 0 || notins.some((c) => c.values.some((v) => v.kind === 'sym'))) return false;
    return likeCandidates(likes).some((s) =>
      [...likes, ...notins].every((c) => holds(c, { kind: 'str', s })),
    );
  }
  if (ranges.length === 0) return true; // only exclusions of finitely many values
  const exclusions = notins.flatMap((c) => c.values);
  if (ranges.some((r) => r.value.kind === 'sym')) return ranges.length === 1 && exclusions.length === 0;
  // `x >= 'infinity'` leaves one value, infinity itself (`x <= '-infinity'` likewise).
  const edges = ranges.filter(
    (r) => (extreme(r.value) === 'max' && r.op === '>=') || (extreme(r.value) === 'min' && r.op === '<='),
  );
  if (edges.length > 0) {
    const [edge] = edges as [Extract<Constraint, { c: 'range' }>];
    return ranges.length === 1 && exclusions.every((e) => definitelyDifferent(e, edge.value));
  }
  // Nothing lies beyond infinity: `x > 'infinity'`, `x < '-infinity'` have no value.
  for (const r of ranges) {
    const edge = extreme(r.value);
    if ((edge === 'max' && r.op === '>') || (edge === 'min' && r.op === '<')) return false;
    if (edge !== undefined && ranges.length > 1) return false;
  }
  if (ranges.length === 1) return true;
  return intervalHasRoom(ranges, exclusions);
}

/** Two or more bounds: the interval they leave must hold a value (an integer, or a date) not excluded. */
function intervalHasRoom(
  ranges: readonly Extract<Constraint, { c: 'range' }>[],
  exclusions: readonly Independent[],
): boolean {
  const numbers = ranges.map((r) => numberOf(r.value));
  if (numbers.every((n): n is number => n !== undefined)) {
    let low = -Infinity;
    let high = Infinity;
    ranges.forEach((r, i) => {
      const n = numbers[i] as number;
      // Integer bounds: x > 3 is x >= 4, x < 4 is x <= 3 (integers are values of every numeric type).
      if (r.op === '>') low = Math.max(low, Math.floor(n) + 1);
      if (r.op === '>=') low = Math.max(low, Math.ceil(n));
      if (r.op === '<') high = Math.min(high, Math.ceil(n) - 1);
      if (r.op === '<=') high = Math.min(high, Math.floor(n));
    });
    if (exclusions.some((e) => e.kind === 'sym')) return high - low + 1 > exclusions.length;
    for (let v = low; v <= high && v <= low + exclusions.length; v++)
      if (!exclusions.some((e) => !definitelyDifferent(e, { kind: 'num', n: v }))) return true;
    return false;
  }
  const dates = ranges.map((r) => dateOf(r.value));
  if (!dates.every((d): d is number => d !== undefined)) return false;
  const DAY = 86_400_000;
  // Whole days (a date column): the interval must hold a day, and one more per excluded value.
  let low = -Infinity;
  let high = Infinity;
  ranges.forEach((r, i) => {
    const d = Math.floor((dates[i] as number) / DAY);
    const exact = (dates[i] as number) % DAY === 0;
    if (r.op === '>') low = Math.max(low, d + 1);
    if (r.op === '>=') low = Math.max(low, exact ? d : d + 1);
    if (r.op === '<') high = Math.min(high, exact ? d - 1 : d);
    if (r.op === '<=') high = Math.min(high, d);
  });
  return high - low + 1 > exclusions.length;
}

/** Does a literal value certainly meet a constraint (whatever the column's type)? */
function holds(c: Constraint, value: Independent): boolean {
  switch (c.c) {
    case 'in':
      return c.values.some((v) => equalLiterals(v, value));
    case 'notin':
      return c.values.every((v) => definitelyDifferent(v, value));
    case 'range': {
      const order = compare(value, c.value);
      if (order === undefined) return false;
      return c.op === '<' ? order < 0 : c.op === '<=' ? order <= 0 : c.op === '>' ? order > 0 : order >= 0;
    }
    case 'like':
      return value.kind === 'str' && likeMatches(value.s, c.pattern, c.ci) !== c.negated;
    case 'null':
      return false;
    case 'notnull':
      return true;
  }
}
