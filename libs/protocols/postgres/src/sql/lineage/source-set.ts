import { SourceSet } from '@tollgate/masking';
import type { SourceColumn } from './lineage.types';

export { SourceSet };

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
