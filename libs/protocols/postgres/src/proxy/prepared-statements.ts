import type { SqlClassification, SqlStatementFacts } from '../sql-classifier';

/** Names the session keeps track of at most; beyond, the oldest is forgotten (its EXECUTE is then opaque). */
const MAX_NAMES = 10_000;
/** Different statements prepared under one name before the name counts as unknown. */
const MAX_VERSIONS = 16;

type Prepared = readonly SqlStatementFacts[];

/**
 * SQL-level prepared statements of one session (PREPARE name AS ..., EXECUTE name, DEALLOCATE).
 * EXECUTE's text does not say what it runs; the PREPARE's did. Each EXECUTE is decided on the facts
 * of the statement prepared under its name, with the policy of the moment (so a policy change
 * between PREPARE and EXECUTE is honoured), and an EXECUTE of a name the session never saw prepared
 * (or whose PREPARE was denied) is opaque code.
 *
 * The server's set of prepared statements is not observable, so the tracking errs toward knowing
 * more: a PREPARE counts from the moment it is forwarded (even if it then fails), a name prepared
 * twice stands for both statements until DEALLOCATE, and DEALLOCATE or DISCARD ALL forget names
 * (if they then fail, the EXECUTE is opaque: denied where that matters, never let through).
 */
export class SqlPreparedStatements {
  private readonly prepared = new Map<string, Prepared[]>();

  /** The classification with each EXECUTE followed by the facts of what it runs. */
  resolve(classification: SqlClassification): SqlClassification {
    if (!classification.ok || !classification.statements.some((s) => s.executes !== undefined))
      return classification;
    const overlay = new Map(this.prepared);
    const statements: SqlStatementFacts[] = [];
    for (const [index, facts] of classification.statements.entries()) {
      if (facts.executes === undefined) {
        statements.push(facts);
        apply(overlay, classification.statements, index);
        continue;
      }
      const versions = overlay.get(facts.executes);
      if (!versions || versions.length > MAX_VERSIONS) {
        statements.push({ ...facts, opaque: [...(facts.opaque ?? []), 'EXECUTE'], readOnly: false });
        continue;
      }
      statements.push({
        ...facts,
        readOnly: facts.readOnly && versions.every((v) => v.every((s) => s.readOnly)),
      });
      for (const version of versions)
        for (const inner of version)
          statements.push(inner.nestedIn === 'PREPARE' ? { ...inner, nestedIn: 'EXECUTE' } : inner);
    }
    return { ok: true, statements };
  }

  /** Records what a forwarded command prepares and frees. */
  record(classification: SqlClassification): void {
    if (!classification.ok) return;
    classification.statements.forEach((_, index) => apply(this.prepared, classification.statements, index));
    while (this.prepared.size > MAX_NAMES) this.prepared.delete(this.prepared.keys().next().value as string);
  }
}

function apply(map: Map<string, Prepared[]>, statements: readonly SqlStatementFacts[], index: number): void {
  const facts = statements[index] as SqlStatementFacts;
  if (facts.nestedIn !== undefined) return;
  if (facts.deallocatesAll) map.clear();
  if (facts.deallocates !== undefined) map.delete(facts.deallocates);
  if (facts.prepares === undefined) return;
  // The prepared statement's facts: the nested facts that follow, up to the next top-level statement.
  let end = index + 1;
  while (end < statements.length && statements[end]?.nestedIn !== undefined) end++;
  const version = statements.slice(index + 1, end);
  const key = JSON.stringify(version);
  const versions = map.get(facts.prepares) ?? [];
  // Past MAX_VERSIONS the name stands for too much to list: its EXECUTE counts as unknown.
  if (versions.length <= MAX_VERSIONS && !versions.some((v) => JSON.stringify(v) === key))
    map.set(facts.prepares, [...versions, version]);
}
