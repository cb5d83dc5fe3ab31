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
  // The hot path (every audit event is hashed this way) keeps no paths and no ancestor set; anything
  // unusual (an error to name, or nesting deep enough to be a cycle) is redone by the careful
  // serializer, which gives the same text or names where the value went wrong.
  try {
    return fast(value, 0);
  } catch (error) {
    if (error !== UNUSUAL) throw error;
  }
  return serialize(value, new Set(), '$');
}

/** Thrown by `fast` to hand a value over to `serialize` (made once: throwing it costs no stack). */
const UNUSUAL = new Error('not for the fast path');
const MAX_FAST_DEPTH = 64;

function fast(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw UNUSUAL;
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw UNUSUAL;
  }
  if (value === null) return 'null';
  if (depth > MAX_FAST_DEPTH) throw UNUSUAL;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return fast((value as { toJSON: () => unknown }).toJSON(), depth + 1);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === undefined) throw UNUSUAL;
      out += i === 0 ? fast(item, depth + 1) : `,${fast(item, depth + 1)}`;
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const plan = keyPlan(Object.keys(record));
  let out = '{';
  for (let i = 0; i < plan.sorted.length; i++) {
    const member = record[plan.sorted[i]!];
    if (member === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${plan.members[i]!}${fast(member, depth + 1)}`;
  }
  return `${out}}`;
}

/** How to write an object with these keys (in this insertion order): sorted, each as `"key":`. */
interface KeyPlan {
  readonly keys: readonly string[];
  readonly sorted: readonly string[];
  readonly members: readonly string[];
}

// Events of one kind are built by the same code, so their objects come with the same keys in the
// same order: sorting and quoting them once per shape saves most of the work per object.
const keyPlans = new Map<string, KeyPlan>();
const MAX_KEY_PLANS = 1024;

function keyPlan(keys: string[]): KeyPlan {
  const signature = keys.join(',');
  const cached = keyPlans.get(signature);
  // The signature is only a hint (a key may contain a comma): the keys themselves must match.
  if (cached && cached.keys.length === keys.length && cached.keys.every((key, i) => key === keys[i])) {
    return cached;
  }
  const sorted = [...keys].sort();
  const plan = { keys, sorted, members: sorted.map((key) => `${JSON.stringify(key)}:`) };
  if (!cached && keyPlans.size < MAX_KEY_PLANS) keyPlans.set(signature, plan);
  return plan;
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
