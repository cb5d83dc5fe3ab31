/** Helpers over libpg-query's JSON parse tree (each node is `{ NodeType: { ...fields } }`). */
export type Node = Record<string, unknown>;

/** The type name and fields of a node (`{ SelectStmt: {...} }` → `['SelectStmt', {...}]`). */
export function unwrap(node: unknown): [string, Node] | undefined {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
  // for...in, not Object.entries: the lineage analysis unwraps every node of every statement.
  let kind: string | undefined;
  for (const key in node) {
    if (kind !== undefined) return undefined;
    kind = key;
  }
  if (kind === undefined) return undefined;
  const body = (node as Node)[kind];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  return [kind, body as Node];
}

/** Depth-first walk over a JSON AST; the visitor returns false to skip a subtree. */
export function walk(node: unknown, visit: (key: string, value: unknown) => boolean): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  // for...in, not Object.entries: this runs for every node of every statement classified.
  for (const key in node) {
    const value = (node as Node)[key];
    if (visit(key, value) && typeof value === 'object' && value !== null) walk(value, visit);
  }
}

export function text(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

export function list(value: unknown): Node[] {
  return Array.isArray(value) ? (value as Node[]) : [];
}

/** `[{String: {sval: 'pg_catalog'}}, {String: {sval: 'lower'}}]` → `['pg_catalog', 'lower']`. */
export function names(value: unknown): string[] {
  return list(value).map((item) => text((item['String'] as Node | undefined)?.['sval'], '?'));
}

/** The string value of an A_Const string node, or undefined when the node is anything else. */
export function constString(node: unknown): string | undefined {
  const constant = (node as Node | undefined)?.['A_Const'] as Node | undefined;
  const sval = constant?.['sval'] as Node | undefined;
  if (!sval) return undefined;
  return text(sval['sval']);
}

/** Every node of the given type below `node`, nested ones included. */
export function findAll(node: unknown, type: string): Node[] {
  const found: Node[] = [];
  walk(node, (key, value) => {
    if (key === type) found.push(value as Node);
    return true;
  });
  return found;
}
