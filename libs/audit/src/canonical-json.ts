/** Any value canonicalJson accepts. */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
}

/**
 * Canonical JSON (RFC 8785, JCS): no whitespace, object keys sorted by UTF-16 code units, numbers in
 * ECMAScript's shortest round-trip form, strings escaped as JSON.stringify does. The same value
 * always gives the same text, whatever order its keys were built in, so it can be hashed.
 * Object members whose value is `undefined` are left out (as JSON.stringify does); `undefined` in
 * an array, non-finite numbers, bigints, functions, symbols and cycles are errors, because a value
 * that does not survive a JSON round trip would not verify after being stored.
 */
export function canonicalJson(value: unknown): string {
  return serialize(value, new Set(), '$');
}

function serialize(value: unknown, ancestors: Set<object>, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value))
        throw new CanonicalJsonError(`${path}: ${value} is not representable in JSON`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(`${path}: a ${typeof value} is not representable in JSON`);
  }
  const obj = value;
  if (ancestors.has(obj)) throw new CanonicalJsonError(`${path}: cyclic structure`);
  if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
    // Dates (and anything else with toJSON) serialize as they would through JSON.stringify.
    return serialize((obj as { toJSON: () => unknown }).toJSON(), ancestors, path);
  }
  ancestors.add(obj);
  try {
    if (Array.isArray(obj)) {
      const items = obj.map((item: unknown, index) => {
        if (item === undefined) throw new CanonicalJsonError(`${path}[${index}]: undefined in an array`);
        return serialize(item, ancestors, `${path}[${index}]`);
      });
      return `[${items.join(',')}]`;
    }
    const record = obj as Record<string, unknown>;
    const members: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const member = record[key];
      if (member === undefined) continue;
      members.push(`${JSON.stringify(key)}:${serialize(member, ancestors, `${path}.${key}`)}`);
    }
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(obj);
  }
}
