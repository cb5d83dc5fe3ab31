/**
 * Whether an UPDATE's or DELETE's WHERE restricts its rows (`require_where`): whether there is a row,
 * with non-null values in the columns it compares, for which the WHERE is not true, whatever the
 * values of parameters, variables and other tables. It is proved from the WHERE's pins: comparisons
 * of a column of the modified table with a value that does not come from the same row. `NOT` is
 * pushed inward, constants are folded, an AND is false when one part is, an OR only when every part
 * is in the same row (the values its parts' negations demand of one column must be compatible).
 * Fails closed: what is not a pin (a function of a column, two columns of the row compared, `CASE`,
 * `EXISTS`, a subquery that may read the modified table) is never the false part.
 */

type Node = Record<string, unknown>;

/** A value that does not come from the modified row: a literal, or something not known (`?`, `@v`, NOW()). */
type Value =
  | { readonly v: 'number'; readonly n: number }
  | { readonly v: 'text'; readonly s: string }
  | { readonly v: 'opaque' };

type Constraint =
  | { readonly c: 'in'; readonly values: readonly Value[] }
  | { readonly c: 'notin'; readonly values: readonly Value[] }
  | { readonly c: 'range'; readonly op: '<' | '<=' | '>' | '>='; readonly value: Value }
  | { readonly c: 'like'; readonly pattern: string; readonly negated: boolean }
  | { readonly c: 'null' }
  | { readonly c: 'notnull' };

interface Pin {
  readonly column: string;
  readonly constraint: Constraint;
}

type Formula =
  | { readonly f: 'and' | 'or'; readonly items: readonly Formula[] }
  | { readonly f: 'pin'; readonly pin: Pin }
  | { readonly f: 'false' }
  | { readonly f: 'unknown' };

const UNKNOWN: Formula = { f: 'unknown' };
const FALSE: Formula = { f: 'false' };
/** Ways to falsify a formula beyond this many are not searched: such a WHERE does not restrict. */
const MAX_ALTERNATIVES = 512;

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null;
const lower = (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : undefined);

/** The tables an UPDATE or DELETE modifies, by the names its columns may be qualified with. */
export interface ModifiedTables {
  /** Names and aliases a pinned column may be qualified with. */
  readonly names: ReadonlySet<string>;
  /** Whether an unqualified column is the modified table's (one relation only). */
  readonly unqualified: boolean;
}

export function modifiedTables(ast: Node): ModifiedTables {
  const relations = [
    ...(Array.isArray(ast['from']) ? (ast['from'] as unknown[]) : []),
    ...(Array.isArray(ast['table']) ? (ast['table'] as unknown[]) : []),
  ].filter(isNode);
  const nameOf = (r: Node) => lower(r['as']) ?? lower(r['table']);
  const all = new Set(relations.map(nameOf).filter((n): n is string => n !== undefined));
  if (all.size <= 1) return { names: all, unqualified: true };
  // Several relations: DELETE names its targets; UPDATE modifies the tables its SET qualifies.
  let targets: Set<string>;
  if (ast['type'] === 'delete') {
    targets = new Set(
      (Array.isArray(ast['table']) ? (ast['table'] as Node[]) : []).map((t) => lower(t['table']) ?? ''),
    );
  } else {
    const set = Array.isArray(ast['set']) ? (ast['set'] as Node[]) : [];
    targets = set.every((item) => typeof item['table'] === 'string')
      ? new Set(set.map((item) => lower(item['table']) ?? ''))
      : all;
  }
  return { names: targets, unqualified: false };
}

/** Whether `where` restricts the rows of the modified tables (absent: it does not). */
export function whereRestricts(where: unknown, tables: ModifiedTables): boolean {
  if (!isNode(where)) return false;
  const formula = new Builder(tables).predicate(where, false);
  const alternatives = falsifications(formula);
  return alternatives !== undefined && alternatives.some(consistent);
}

class Builder {
  constructor(private readonly tables: ModifiedTables) {}

  predicate(node: unknown, negated: boolean): Formula {
    if (!isNode(node)) return UNKNOWN;
    if (isNode(node['ast'])) return this.constant(node, negated);
    const type = node['type'];
    if (type === 'unary_expr' && (node['operator'] === 'NOT' || node['operator'] === '!'))
      return this.predicate(node['expr'], !negated);
    if (type === 'function' && functionName(node) === 'not') {
      const args = argsOf(node);
      return args.length === 1 ? this.predicate(args[0], !negated) : UNKNOWN;
    }
    if (type === 'column_ref') {
      // A bare column is true when it is not 0 (and not NULL).
      const column = this.column(node);
      if (!column) return UNKNOWN;
      const zero: Value = { v: 'number', n: 0 };
      return pin(column, negated ? { c: 'in', values: [zero] } : { c: 'notin', values: [zero] });
    }
    if (type === 'binary_expr') return this.binary(node, negated);
    return this.constant(node, negated);
  }

  private binary(node: Node, negated: boolean): Formula {
    const op = String(node['operator']).toUpperCase();
    const { left, right } = node;
    if (op === 'AND' || op === '&&' || op === 'OR' || op === '||') {
      const and = (op === 'AND' || op === '&&') !== negated;
      return {
        f: and ? 'and' : 'or',
        items: [this.predicate(left, negated), this.predicate(right, negated)],
      };
    }
    const leftColumn = this.column(left);
    const rightColumn = this.column(right);
    if (!leftColumn && !rightColumn) return this.constant(node, negated);
    if (leftColumn && rightColumn) return UNKNOWN;
    const column = (leftColumn ?? rightColumn) as string;
    const other = leftColumn ? right : left;
    const flip = rightColumn !== undefined;
    if (['=', '<=>', '!=', '<>', '<', '<=', '>', '>='].includes(op)) {
      const value = this.value(other, column);
      if (!value) return UNKNOWN;
      if (value === 'null') return op === '<=>' && !negated ? FALSE : op === '<=>' ? UNKNOWN : FALSE;
      const cmp = (flip ? FLIP[op] : op) ?? op;
      const effective = negated ? (NEGATE[cmp] ?? cmp) : cmp;
      if (effective === '=' || effective === '<=>') return pin(column, { c: 'in', values: [value] });
      if (effective === '!=' || effective === '<>') return pin(column, { c: 'notin', values: [value] });
      return pin(column, { c: 'range', op: effective as '<' | '<=' | '>' | '>=', value });
    }
    if (flip) return UNKNOWN;
    if (op === 'IN' || op === 'NOT IN') {
      const items =
        isNode(right) && Array.isArray(right['value']) ? (right['value'] as unknown[]) : undefined;
      if (!items) return UNKNOWN;
      const values: Value[] = [];
      for (const item of items) {
        const value = this.value(item, column);
        if (!value) return UNKNOWN;
        // NULL in IN matches nothing; in NOT IN it makes the whole test never true.
        if (value === 'null') {
          if (op === 'NOT IN') return negated ? UNKNOWN : FALSE;
          continue;
        }
        values.push(value);
      }
      const inList = (op === 'IN') !== negated;
      if (values.length === 0) return inList ? FALSE : UNKNOWN;
      return pin(column, { c: inList ? 'in' : 'notin', values });
    }
    if (op === 'BETWEEN' || op === 'NOT BETWEEN') {
      const bounds = isNode(right) && Array.isArray(right['value']) ? (right['value'] as unknown[]) : [];
      const [low, high] = bounds.map((b) => this.value(b, column));
      if (!low || !high || low === 'null' || high === 'null') return UNKNOWN;
      const inside = (op === 'BETWEEN') !== negated;
      return inside
        ? {
            f: 'and',
            items: [
              pin(column, { c: 'range', op: '>=', value: low }),
              pin(column, { c: 'range', op: '<=', value: high }),
            ],
          }
        : {
            f: 'or',
            items: [
              pin(column, { c: 'range', op: '<', value: low }),
              pin(column, { c: 'range', op: '>', value: high }),
            ],
          };
    }
    if (op === 'LIKE' || op === 'NOT LIKE') {
      const value = this.value(right, column);
      if (!value || value === 'null' || value.v !== 'text') return UNKNOWN;
      return pin(column, { c: 'like', pattern: value.s, negated: (op === 'NOT LIKE') !== negated });
    }
    if ((op === 'IS' || op === 'IS NOT') && isNode(right) && right['type'] === 'null') {
      const isNull = (op === 'IS') !== negated;
      return pin(column, { c: isNull ? 'null' : 'notnull' });
    }
    return UNKNOWN;
  }

  /** An expression without a column of the modified row: true, false or not known. */
  private constant(node: Node, negated: boolean): Formula {
    if (this.readsRow(node)) return UNKNOWN;
    const truth = constantTruth(node);
    if (truth === undefined) return UNKNOWN;
    return truth !== negated ? UNKNOWN : FALSE;
  }

  /** The modified table's column a node is (a bare column reference), if it is one. */
  private column(node: unknown): string | undefined {
    if (!isNode(node) || node['type'] !== 'column_ref') return undefined;
    const name = lower(node['column']) ?? lower(isNode(node['column']) ? node['column']['expr'] : undefined);
    const table = lower(node['table']);
    if (!name || name === '*') return undefined;
    if (table === undefined) return this.tables.unqualified ? name : undefined;
    return this.tables.names.has(table) ? `${table}.${name}` : undefined;
  }

  /** A value not made from the modified row, or `null` for NULL, or undefined. */
  private value(node: unknown, column: string): Value | 'null' | undefined {
    if (!isNode(node)) return undefined;
    switch (node['type']) {
      case 'number':
        return typeof node['value'] === 'number' ? { v: 'number', n: node['value'] } : { v: 'opaque' };
      case 'single_quote_string':
      case 'double_quote_string':
      case 'natural_string':
        return typeof node['value'] === 'string' ? { v: 'text', s: node['value'] } : { v: 'opaque' };
      case 'null':
        return 'null';
      case 'bool':
        return { v: 'number', n: node['value'] === true ? 1 : 0 };
    }
    return this.readsRow(node, column) ? undefined : { v: 'opaque' };
  }

  /** Whether an expression may read the modified row: a column of it, or a subquery that could. */
  private readsRow(node: unknown, compared?: string): boolean {
    let reads = false;
    walk(node, (item, inSubquery) => {
      if (item['type'] === 'column_ref') {
        const table = lower(item['table']);
        const name = lower(item['column']);
        if (table === undefined) {
          // Outside a subquery an unqualified column is the row's (or another relation's: not known);
          // inside one, it could be the outer row's when named like the compared column.
          if (
            !inSubquery ||
            name === undefined ||
            compared === undefined ||
            compared === name ||
            compared.endsWith(`.${name}`)
          )
            reads = true;
        } else if (this.tables.names.has(table) || !inSubquery) reads = true;
      }
      if (Array.isArray(item['from']))
        for (const relation of item['from'] as unknown[])
          if (isNode(relation) && this.tables.names.has(lower(relation['table']) ?? '')) reads = true;
    });
    return reads;
  }
}

const FLIP: Record<string, string> = {
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
  '=': '=',
  '<=>': '<=>',
  '!=': '!=',
  '<>': '<>',
};
const NEGATE: Record<string, string> = {
  '=': '<>',
  '<=>': '<>',
  '!=': '=',
  '<>': '=',
  '<': '>=',
  '<=': '>',
  '>': '<=',
  '>=': '<',
};

const pin = (column: string, constraint: Constraint): Formula => ({ f: 'pin', pin: { column, constraint } });

function functionName(node: Node): string | undefined {
  const name = node['name'];
  if (!isNode(name) || !Array.isArray(name['name'])) return undefined;
  const parts = name['name'] as unknown[];
  return parts.length === 1 && isNode(parts[0]) ? lower(parts[0]['value']) : undefined;
}

function argsOf(node: Node): unknown[] {
  const args = node['args'];
  return isNode(args) && Array.isArray(args['value']) ? (args['value'] as unknown[]) : [];
}

/** A constant's truth in MySQL (non-zero number), when it is plainly a number; otherwise undefined. */
function constantTruth(node: Node): boolean | undefined {
  const number = constantNumber(node);
  if (number === 'null') return false;
  return number === undefined ? undefined : number !== 0;
}

function constantNumber(node: unknown): number | 'null' | undefined {
  if (!isNode(node)) return undefined;
  if (node['type'] === 'number' && typeof node['value'] === 'number') return node['value'];
  if (node['type'] === 'bool') return node['value'] === true ? 1 : 0;
  if (node['type'] === 'null') return 'null';
  if (node['type'] === 'unary_expr' && (node['operator'] === 'NOT' || node['operator'] === '!')) {
    const inner = constantNumber(node['expr']);
    return inner === undefined || inner === 'null' ? inner : inner === 0 ? 1 : 0;
  }
  if (node['type'] === 'function' && functionName(node) === 'not') {
    const args = argsOf(node);
    const inner = args.length === 1 ? constantNumber(args[0]) : undefined;
    return inner === undefined || inner === 'null' ? inner : inner === 0 ? 1 : 0;
  }
  if (node['type'] !== 'binary_expr') return undefined;
  const left = constantNumber(node['left']);
  const right = constantNumber(node['right']);
  if (left === undefined || right === undefined) return undefined;
  const op = String(node['operator']).toUpperCase();
  // These are never NULL: `NULL IS NULL` and `NULL <=> NULL` are true for every row.
  if (op === '<=>') return left === right ? 1 : 0;
  if (op === 'IS' || op === 'IS NOT') {
    const truth = (value: number | 'null') => (value === 'null' ? 'null' : value !== 0);
    const is = truth(left) === truth(right);
    return is === (op === 'IS') ? 1 : 0;
  }
  // AND and OR decide without a NULL side when the other side does: NULL OR 1 is 1, NULL AND 0 is 0.
  if (op === 'OR' || op === '||') {
    if ((left !== 'null' && left !== 0) || (right !== 'null' && right !== 0)) return 1;
    return left === 'null' || right === 'null' ? 'null' : 0;
  }
  if (op === 'AND' || op === '&&') {
    if (left === 0 || right === 0) return 0;
    return left === 'null' || right === 'null' ? 'null' : 1;
  }
  if (left === 'null' || right === 'null') return 'null';
  switch (op) {
    case '=':
      return left === right ? 1 : 0;
    case '!=':
    case '<>':
      return left !== right ? 1 : 0;
    case '<':
      return left < right ? 1 : 0;
    case '<=':
      return left <= right ? 1 : 0;
    case '>':
      return left > right ? 1 : 0;
    case '>=':
      return left >= right ? 1 : 0;
    case 'AND':
    case '&&':
      return left !== 0 && right !== 0 ? 1 : 0;
    case 'OR':
    case '||':
      return left !== 0 || right !== 0 ? 1 : 0;
    case '+':
      return left + right;
    case '-':
      return left - right;
    case '*':
      return left * right;
    default:
      return undefined;
  }
}

function walk(node: unknown, visit: (node: Node, inSubquery: boolean) => void, inSubquery = false): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit, inSubquery);
    return;
  }
  if (!isNode(node)) return;
  visit(node, inSubquery);
  const sub = inSubquery || node['type'] === 'select';
  for (const key in node) if (key !== 'loc') walk(node[key], visit, sub);
}

/** The ways to make a formula false: each a set of pins that must all be false (undefined: too many). */
function falsifications(formula: Formula): Pin[][] | undefined {
  switch (formula.f) {
    case 'false':
      return [[]];
    case 'unknown':
      return [];
    case 'pin':
      return [[formula.pin]];
    case 'and': {
      const all: Pin[][] = [];
      for (const item of formula.items) {
        const ways = falsifications(item);
        if (ways === undefined) return undefined;
        all.push(...ways);
        if (all.length > MAX_ALTERNATIVES) return undefined;
      }
      return all;
    }
    case 'or': {
      let combined: Pin[][] = [[]];
      for (const item of formula.items) {
        const ways = falsifications(item);
        if (ways === undefined) return undefined;
        const next: Pin[][] = [];
        for (const a of combined) for (const b of ways) next.push([...a, ...b]);
        if (next.length > MAX_ALTERNATIVES) return undefined;
        combined = next;
      }
      return combined;
    }
  }
}

/** Whether every pin can be false in one row: per column, a non-null value their negations allow. */
function consistent(pins: readonly Pin[]): boolean {
  const byColumn = new Map<string, Constraint[]>();
  for (const { column, constraint } of pins)
    byColumn.set(column, [...(byColumn.get(column) ?? []), constraint]);
  for (const constraints of byColumn.values()) if (!satisfiable(constraints.map(negation))) return false;
  return true;
}

/** What a column's value must be for the constraint to be false (non-null values only). */
type Need =
  | { readonly n: 'oneof'; readonly values: readonly Value[] }
  | { readonly n: 'noneof'; readonly values: readonly Value[] }
  | { readonly n: 'range'; readonly op: '<' | '<=' | '>' | '>='; readonly value: Value }
  | { readonly n: 'like'; readonly pattern: string; readonly matching: boolean }
  | { readonly n: 'any' }
  | { readonly n: 'never' };

function negation(constraint: Constraint): Need {
  switch (constraint.c) {
    case 'in':
      return { n: 'noneof', values: constraint.values };
    case 'notin':
      return { n: 'oneof', values: constraint.values };
    case 'range': {
      const op = ({ '<': '>=', '<=': '>', '>': '<=', '>=': '<' } as const)[constraint.op];
      return { n: 'range', op, value: constraint.value };
    }
    case 'like':
      return { n: 'like', pattern: constraint.pattern, matching: constraint.negated };
    case 'null':
      return { n: 'any' };
    case 'notnull':
      return { n: 'never' };
  }
}

function satisfiable(needs: readonly Need[]): boolean {
  if (needs.some((need) => need.n === 'never')) return false;
  const real = needs.filter((need) => need.n !== 'any');
  const likes = real.filter((need) => need.n === 'like');
  for (const like of likes) {
    // Every non-null value matches a pattern of only `%`: NOT LIKE it is never true.
    if (!like.matching && /^%+$/.test(like.pattern)) return false;
  }
  // A LIKE with anything else on the same column is not compared: fail closed.
  if (likes.length > 0) return real.length === 1;
  const oneofs = real.filter((need) => need.n === 'oneof');
  const noneof = real.flatMap((need) => (need.n === 'noneof' ? need.values : []));
  const ranges = real.filter((need): need is Extract<Need, { n: 'range' }> => need.n === 'range');
  if (oneofs.length > 0) {
    // The value is one of a list: some candidate must meet everything else.
    const [first, ...rest] = oneofs;
    const candidates = (first as Extract<Need, { n: 'oneof' }>).values.filter(
      (candidate) =>
        rest.every((other) => other.values.some((v) => surelyEqual(v, candidate))) &&
        noneof.every((v) => !mightEqual(v, candidate)) &&
        ranges.every((range) => within(candidate, range)),
    );
    return candidates.length > 0;
  }
  if (ranges.length === 0) return true;
  if (ranges.length === 1 && noneof.length === 0) return true;
  // Several bounds (or bounds and exclusions): compared as numbers, else fail closed.
  if (!ranges.every((r) => r.value.v === 'number') || !noneof.every((v) => v.v === 'number')) return false;
  let low = -Infinity;
  let high = Infinity;
  for (const range of ranges) {
    const n = (range.value as { n: number }).n;
    // Integers only (the column may be one): x > 3 means x >= 4.
    if (range.op === '>') low = Math.max(low, Math.floor(n) + 1);
    if (range.op === '>=') low = Math.max(low, Math.ceil(n));
    if (range.op === '<') high = Math.min(high, Math.ceil(n) - 1);
    if (range.op === '<=') high = Math.min(high, Math.floor(n));
  }
  if (low > high) return false;
  const excluded = new Set(noneof.map((v) => (v as { n: number }).n));
  return high - low + 1 > excluded.size;
}

function surelyEqual(a: Value, b: Value): boolean {
  if (a.v === 'number' && b.v === 'number') return a.n === b.n;
  if (a.v === 'text' && b.v === 'text') return a.s === b.s;
  return false;
}

function mightEqual(a: Value, b: Value): boolean {
  if (a.v === 'number' && b.v === 'number') return a.n === b.n;
  if (a.v === 'text' && b.v === 'text') return a.s.trim().toLowerCase() === b.s.trim().toLowerCase();
  return true;
}

function within(candidate: Value, range: Extract<Need, { n: 'range' }>): boolean {
  if (candidate.v !== 'number' || range.value.v !== 'number') return false;
  const [a, b] = [candidate.n, range.value.n];
  return range.op === '<' ? a < b : range.op === '<=' ? a <= b : range.op === '>' ? a > b : a >= b;
}
