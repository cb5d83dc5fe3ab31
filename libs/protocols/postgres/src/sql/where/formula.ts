import { constString, list, names, text, unwrap, walk, type Node } from '../ast';
import { parseLike, likeSource } from './like-pattern';
import {
  asBoolean,
  BOOLEAN_WORDS,
  compare,
  definitelyDifferent,
  equalLiterals,
  literal,
  type Independent,
} from './literals';
import { COMPARISONS, FLIP, LIKE_OPERATORS, NEGATE, operatorName } from './operators';
import { hasUnqualifiedColumn, type Scope } from './scope';

export type Value =
  | { readonly t: 'target'; readonly column: string; readonly cast: string }
  | { readonly t: 'independent'; readonly value: Independent }
  /** Depends on the target row in a way the analysis does not follow (or cannot tell). */
  | { readonly t: 'row' };

/** The set of values a pin lets its column have. */
export type Constraint =
  | { readonly c: 'in'; readonly values: readonly Independent[] }
  | { readonly c: 'notin'; readonly values: readonly Independent[] }
  | { readonly c: 'range'; readonly op: '<' | '<=' | '>' | '>='; readonly value: Independent }
  | { readonly c: 'like'; readonly pattern: string; readonly ci: boolean; readonly negated: boolean }
  | { readonly c: 'null' }
  /** Any non-null value: the negation of IS NULL. */
  | { readonly c: 'notnull' };

export interface Pin {
  readonly column: string;
  readonly cast: string;
  readonly boolean: boolean;
  readonly constraint: Constraint;
}

export type Formula =
  | { readonly f: 'and' | 'or'; readonly items: readonly Formula[] }
  | { readonly f: 'pin'; readonly pin: Pin }
  /** Never true: a branch that needs no falsifying. */
  | { readonly f: 'false' }
  /** Could be true for every row (a constant, an unknown condition): never the false part. */
  | { readonly f: 'unknown' };

export const UNKNOWN: Formula = { f: 'unknown' };
export const FALSE: Formula = { f: 'false' };

export class TooComplex extends Error {}

export class FormulaBuilder {
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
      const correlated = this.scope.correlation(subselect);
      return correlated ? this.pin(correlated, { c: 'in', values: [{ kind: 'sym' }] }) : UNKNOWN;
    }
    if (type === 'ANY_SUBLINK' || type === 'ALL_SUBLINK') {
      const target = this.value(body['testexpr']);
      const operator = operatorName(body['operName']) ?? '=';
      if (target.t !== 'target' || !this.scope.independentQuery(subselect, target.column)) return UNKNOWN;
      const isAny = type === 'ANY_SUBLINK';
      if (!((isAny && operator === '=') || (!isAny && operator === '<>'))) return UNKNOWN;
      return this.pin(target, { c: isAny !== negated ? 'in' : 'notin', values: [{ kind: 'sym' }] });
    }
    // (SELECT true), ARRAY(...), ...: a value of the whole query, not of the row.
    return UNKNOWN;
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
        if (column !== undefined) return this.scope.independentQuery(body['subselect'], column) ? SYM : ROW;
        return this.scope.independentQuery(body['subselect'], '') && !hasUnqualifiedColumn(body['subselect'])
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
