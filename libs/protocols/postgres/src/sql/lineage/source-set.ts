import { isUntraced, type LineageSource, type SourceColumn } from './lineage.types';

const EMPTY = new Map<string, LineageSource>();

/** A deduplicated set of lineage sources, in the order first seen. */
export class SourceSet {
  // Most sets stay empty (constants, parameters): the map is made on the first add.
  private byKey: Map<string, LineageSource> | undefined;

  static of(...sources: readonly LineageSource[]): SourceSet {
    const set = new SourceSet();
    for (const source of sources) set.add(source);
    return set;
  }

  add(source: LineageSource): this {
    const key = isUntraced(source)
      ? `?\u0000${source.untraced}`
      : `${source.schema}\u0000${source.table}\u0000${source.column}`;
    this.byKey ??= new Map();
    if (!this.byKey.has(key)) this.byKey.set(key, source);
    return this;
  }

  addAll(sources: Iterable<LineageSource> | SourceSet): this {
    if (sources instanceof SourceSet) {
      if (!sources.byKey) return this;
      if (!this.byKey) {
        this.byKey = new Map(sources.byKey);
        return this;
      }
      for (const [key, source] of sources.byKey) if (!this.byKey.has(key)) this.byKey.set(key, source);
      return this;
    }
    for (const source of sources) this.add(source);
    return this;
  }

  values(): IterableIterator<LineageSource> {
    return (this.byKey ?? EMPTY).values();
  }

  get size(): number {
    return this.byKey?.size ?? 0;
  }

  toArray(): LineageSource[] {
    return this.byKey ? [...this.byKey.values()] : [];
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
