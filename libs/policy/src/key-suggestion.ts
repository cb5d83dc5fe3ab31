import type { z } from 'zod';

interface SchemaDef {
  readonly type: string;
  readonly shape?: Readonly<Record<string, z.core.$ZodType>>;
  readonly innerType?: z.core.$ZodType;
  readonly element?: z.core.$ZodType;
  readonly options?: readonly z.core.$ZodType[];
  readonly in?: z.core.$ZodType;
}

const def = (schema: z.core.$ZodType): SchemaDef => schema._zod.def;

/** The object schemas reachable at `path` (several where a union allows different objects). */
function objectsAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): SchemaDef[] {
  const d = def(schema);
  switch (d.type) {
    case 'default':
    case 'optional':
    case 'nullable':
    case 'readonly':
      return d.innerType ? objectsAt(d.innerType, path) : [];
    case 'pipe':
      return d.in ? objectsAt(d.in, path) : [];
    case 'union':
      return (d.options ?? []).flatMap((option) => objectsAt(option, path));
    case 'array': {
      if (path.length === 0 || typeof path[0] !== 'number' || !d.element) return [];
      return objectsAt(d.element, path.slice(1));
    }
    case 'object': {
      if (path.length === 0) return [d];
      const [head, ...rest] = path;
      const child = typeof head === 'string' ? d.shape?.[head] : undefined;
      return child ? objectsAt(child, rest) : [];
    }
    default:
      return [];
  }
}

/** The keys the object at `path` accepts, from the schema itself (so suggestions cannot drift). */
export function allowedKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  return [...new Set(objectsAt(schema, path).flatMap((o) => Object.keys(o.shape ?? {})))];
}

/** The allowed key closest to a misspelt one, if it is close enough to be a likely typo. */
export function closestKey(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
