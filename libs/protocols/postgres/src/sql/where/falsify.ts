import { likeLiterals, likeMatches } from './like-pattern';
import {
  compare,
  dateOf,
  definitelyDifferent,
  equalLiterals,
  extreme,
  numberOf,
  type Independent,
} from './literals';
import { NEGATE } from './operators';
import { TooComplex, type Constraint, type Formula, type Pin } from './formula';

/**
 * The search for a row that makes a WHERE not true: an AND needs one false part, an OR all its parts
 * false, in one row whose columns meet every demand made of them.
 */
/** The constraints the row must meet, per column (the negations of the pins chosen to be false). */
type Demands = ReadonlyMap<string, readonly Pin[]>;

const MAX_STEPS = 20_000;

export function falsifiable(formula: Formula): boolean {
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
