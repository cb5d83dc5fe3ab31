import { isUntraced, type LineageSource, type SourceColumn } from './lineage.types';

/** A deduplicated set of lineage sources, in the order first seen. */
export class SourceSet {
  private readonly byKey = new Map<string, LineageSource>();

  static of(...sources: readonly LineageSource[]): SourceSet {
    const set = new SourceSet();
    for (const source of sources) set.add(source);
    return set;
  }

  add(source: LineageSource): this {
    const key = isUntraced(source)
      ? `?\u0000${source.untraced}`
      : `${source.schema}\u0000${source.table}\u0000${source.column}`;
    if (!this.byKey.has(key)) this.byKey.set(key, source);
    return this;
  }

  addAll(sources: Iterable<LineageSource> | SourceSet): this {
    for (const source of sources instanceof SourceSet ? sources.values() : sources) this.add(source);
    return this;
  }

  values(): IterableIterator<LineageSource> {
    return this.byKey.values();
  }

  get size(): number {
    return this.byKey.size;
  }

  toArray(): LineageSource[] {
    return [...this.byKey.values()];
  }
}

/** What an expression is made of: a plain column reference, or a value made from sources. */
export interface ExprLineage {
  readonly plain?: SourceColumn;
  readonly sources: SourceSet;
}

export const NO_SOURCES: ExprLineage = { sources: new SourceSet() };

export function derived(sources: SourceSet): ExprLineage {
  return { sources };
}

export function untraced(reason: string): SourceSet {
  return SourceSet.of({ untraced: reason });
}
