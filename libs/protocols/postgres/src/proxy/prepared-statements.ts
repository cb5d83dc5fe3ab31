import type { SqlClassification, SqlStatementFacts } from '../sql-classifier';

/** Names the session keeps track of at most; beyond, the oldest is forgotten (its EXECUTE is then opaque). */
const MAX_NAMES = 10_000;
/** Different statements prepared under one name before the name counts as unknown. */
const MAX_VERSIONS = 16;

type Prepared = readonly SqlStatementFacts[];

interface Entry {
  /** The facts of every statement prepared under the name since it was last freed. */
  readonly versions: readonly Prepared[];
  /** The text of the extended protocol's Parse, when that alone defined the name. */
  readonly parseText?: string;
}

/**
 * The prepared statements of one session. SQL's `PREPARE name AS ...` and the extended protocol's
 * named Parse fill one namespace on the server: `EXECUTE name` runs either, and so does a protocol
 * Bind of the name; `DEALLOCATE` and Close free either. Neither EXECUTE's text nor a Bind says what
 * runs; the PREPARE or Parse did. So each run is decided on the facts of what was prepared under its
 * name, with the policy of the moment (a policy change between PREPARE and EXECUTE is honoured), and
 * a run of a name the session never saw prepared (or whose PREPARE was denied) is opaque code.
 *
 * The server's set of prepared statements is not observable, so the tracking errs toward knowing
 * more: a PREPARE counts from the moment it is forwarded (even if it then fails), a name prepared
 * twice stands for both statements until it is freed, and DEALLOCATE, DISCARD ALL and Close forget
 * names (if they then fail, a run of the name is opaque: denied where that matters, never let
 * through unseen).
 */
export class SqlPreparedStatements {
  private readonly entries = new Map<string, Entry>();

  /** The classification with each EXECUTE followed by the facts of what it runs. */
  resolve(classification: SqlClassification): SqlClassification {
    if (!classification.ok || !classification.statements.some((s) => s.executes !== undefined))
      return classification;
    const overlay = new Map(this.entries);
    const statements: SqlStatementFacts[] = [];
    for (const [index, facts] of classification.statements.entries()) {
      if (facts.executes === undefined) {
        statements.push(facts);
        apply(overlay, classification.statements, index);
        continue;
      }
      const versions = overlay.get(facts.executes)?.versions;
      // Unknown, known only by a text the parser could not read, or prepared too many ways.
      if (!versions || versions.length === 0 || versions.length > MAX_VERSIONS) {
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

  /**
   * Records what a forwarded SQL command prepares and frees; returns the names it touched, whose
   * earlier protocol-level decisions no longer describe what they run.
   */
  record(classification: SqlClassification): { readonly names: readonly string[]; readonly all: boolean } {
    if (!classification.ok) return { names: [], all: false };
    const names: string[] = [];
    let all = false;
    classification.statements.forEach((facts, index) => {
      if (facts.prepares !== undefined) names.push(facts.prepares);
      if (facts.deallocates !== undefined) names.push(facts.deallocates);
      if (facts.deallocatesAll) all = true;
      apply(this.entries, classification.statements, index);
    });
    this.trim();
    return { names, all };
  }

  /**
   * A forwarded extended-protocol Parse of a named statement. Returns whether it is the name's only
   * definition; when the name was in use, the server refuses the Parse and keeps the statement it
   * had, so a Bind of the name must not count as covered by this Parse's decision.
   */
  parsed(name: string, text: string, classification: SqlClassification): boolean {
    // As if nested in a PREPARE, so that resolve() shows them nested in the EXECUTE that runs them.
    const facts: Prepared = classification.ok
      ? classification.statements.map((f) => (f.nestedIn === undefined ? { ...f, nestedIn: 'PREPARE' } : f))
      : [];
    const entry = this.entries.get(name);
    const version = classification.ok ? [facts] : [];
    this.entries.set(
      name,
      entry
        ? { versions: union(entry.versions, version) }
        : // An unparsed statement is known by name only: its runs are decided on its text.
          { versions: version, parseText: text },
    );
    this.trim();
    return entry === undefined;
  }

  /** A forwarded Close of a named statement. */
  closed(name: string): void {
    this.entries.delete(name);
  }

  /**
   * The command a protocol Bind of `name` runs, for deciding it: the Parse's text when that alone
   * defined the name, otherwise `EXECUTE name` (which resolve() turns into what was prepared, or
   * opaque code when nothing known was).
   */
  bindText(name: string): string {
    return this.entries.get(name)?.parseText ?? `EXECUTE "${name.replace(/"/g, '""')}"`;
  }

  private trim(): void {
    while (this.entries.size > MAX_NAMES) this.entries.delete(this.entries.keys().next().value as string);
  }
}

function apply(map: Map<string, Entry>, statements: readonly SqlStatementFacts[], index: number): void {
  const facts = statements[index] as SqlStatementFacts;
  if (facts.nestedIn !== undefined) return;
  if (facts.deallocatesAll) map.clear();
  if (facts.deallocates !== undefined) map.delete(facts.deallocates);
  if (facts.prepares === undefined) return;
  // The prepared statement's facts: the nested facts that follow, up to the next top-level statement.
  let end = index + 1;
  while (end < statements.length && statements[end]?.nestedIn !== undefined) end++;
  const version = statements.slice(index + 1, end);
  map.set(facts.prepares, { versions: union(map.get(facts.prepares)?.versions ?? [], [version]) });
}

/** Versions together, statements deciding alike counted once; past MAX_VERSIONS the name is unknown. */
function union(versions: readonly Prepared[], more: readonly Prepared[]): Prepared[] {
  const all = [...versions];
  for (const version of more) {
    const key = JSON.stringify(version);
    if (all.length <= MAX_VERSIONS && !all.some((v) => JSON.stringify(v) === key)) all.push(version);
  }
  return all;
}
