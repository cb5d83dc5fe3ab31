type Json = Record<string, unknown>;

/**
 * The JSON merge patch (RFC 7396) that turns `current` into `desired`: keys only `current` has are
 * set to null (removed), objects on both sides are diffed key by key, anything else is `desired`'s.
 * Undefined means no change.
 */
export function mergePatchTo(current: unknown, desired: unknown): unknown {
  if (!isObject(current) || !isObject(desired)) {
    return JSON.stringify(current) === JSON.stringify(desired) ? undefined : desired;
  }
  const patch: [string, unknown][] = [];
  for (const key of Object.keys(current)) if (!Object.hasOwn(desired, key)) patch.push([key, null]);
  for (const [key, value] of Object.entries(desired)) {
    if (value === undefined) {
      if (Object.hasOwn(current, key)) patch.push([key, null]);
      continue;
    }
    const change = Object.hasOwn(current, key) ? mergePatchTo(current[key], value) : value;
    if (change !== undefined) patch.push([key, change]);
  }
  return patch.length === 0 ? undefined : Object.fromEntries(patch);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
