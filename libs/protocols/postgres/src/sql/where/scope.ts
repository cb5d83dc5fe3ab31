import { list, names, text, unwrap, walk, type Node } from '../ast';
import { operatorName } from './operators';

/** A column of the target table, as a value of the predicate (`cast`: the casts applied, `::text`). */
export interface TargetColumn {
  readonly t: 'target';
  readonly column: string;
  readonly cast: string;
}

/**
 * Which relation a column of the WHERE belongs to, and what reads the target table: the target's
 * name and alias, the other relations of FROM/USING, and the statement's CTEs.
 */
export class Scope {
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

  /** The target column an EXISTS subquery is tied to by `other_column = target.column` in its WHERE. */
  correlation(subselect: unknown): TargetColumn | undefined {
    const select = unwrap(subselect);
    if (select?.[0] !== 'SelectStmt') return undefined;
    // Plain relations only: a subquery or function in FROM could be computed from the outer row.
    const from = list(select[1]['fromClause']);
    if (this.readsTarget(from) || !from.every(plainRelations)) return undefined;
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
  private qualifiedTarget(node: unknown, local: ReadonlySet<string>): TargetColumn | undefined {
    const ref = unwrap(node);
    if (ref?.[0] !== 'ColumnRef') return undefined;
    const fields = names(ref[1]['fields']);
    if (fields.length < 2) return undefined;
    const qualifier = fields[fields.length - 2] as string;
    if (local.has(qualifier) || !this.targetQualifiers.has(qualifier)) return undefined;
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
  independentQuery(subselect: unknown, column: string): boolean {
    if (this.readsTarget(subselect)) return false;
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
          (this.targetQualifiers.has(qualifier) || this.others.get(qualifier) === true)
        )
          ok = false;
      }
      return ok;
    });
    return ok;
  }
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

export function hasUnqualifiedColumn(node: unknown): boolean {
  let found = false;
  walk(node, (key, value) => {
    if (key === 'ColumnRef' && list((value as Node)['fields']).length === 1) found = true;
    return !found;
  });
  return found;
}
