/** What a masked value becomes: base64 of `********` where the value was base64 (a Secret's data). */
export const MASKED_TEXT = '********';
export const MASKED_BASE64 = Buffer.from(MASKED_TEXT).toString('base64');

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A masked value that its type still accepts: base64 stays base64 (clients decode Secret data). */
function maskedValue(value: Json): Json {
  return typeof value === 'string' && BASE64.test(value) ? MASKED_BASE64 : MASKED_TEXT;
}

/**
 * Masks the named fields of one object in place: each value of a map (its keys stay, so which keys
 * a Secret has is still visible), or the whole value otherwise; also inside the copy kubectl apply
 * keeps in an annotation. Returns how many values were masked.
 */
function maskObject(object: JsonObject, fields: readonly string[]): number {
  let count = 0;
  for (const field of fields) {
    const value = object[field];
    if (value === undefined || value === null) continue;
    if (isObject(value)) {
      for (const key of Object.keys(value)) {
        value[key] = maskedValue(value[key]!);
        count++;
      }
    } else {
      object[field] = maskedValue(value);
      count++;
    }
  }
  const metadata = object['metadata'];
  const annotations = isObject(metadata) ? metadata['annotations'] : undefined;
  const applied = isObject(annotations) ? annotations[LAST_APPLIED] : undefined;
  if (isObject(annotations) && applied !== undefined) {
    let copy: Json;
    try {
      copy = typeof applied === 'string' ? (JSON.parse(applied) as Json) : null;
    } catch {
      copy = null;
    }
    if (isObject(copy)) {
      const inner = maskObject(copy, fields);
      if (inner > 0) annotations[LAST_APPLIED] = JSON.stringify(copy);
      count += inner;
    } else {
      annotations[LAST_APPLIED] = MASKED_TEXT;
      count++;
    }
  }
  return count;
}

/**
 * Masks what an API response for a masked resource carries, in place, whatever its shape: an object,
 * a list (`items`), a Table (`rows[].object`: kubectl get), or a watch event (`object`). The API
 * server's Status (`v1`) carries no object. A shape is told by `kind`, which a custom resource names
 * as it likes (`AllowList` with items of its own, a `Table` or `Status` of another group), so the
 * body's own fields are masked too whatever its shape. Returns how many values were masked.
 */
export function maskKubernetesResponse(
  value: unknown,
  fields: readonly string[],
  /** Whether a Table's cells come from a printer known to print no masked value (else masked). */
  cellsKept = false,
): number {
  const body = value as Json;
  if (!isObject(body)) throw new Error('the response is not a JSON object');
  const kind = body['kind'];
  const apiVersion = body['apiVersion'];
  if (kind === 'Status' && (apiVersion === undefined || apiVersion === 'v1')) return 0;
  // A watch event: {type, object}; an ERROR event's object is a Status.
  if (typeof body['type'] === 'string' && isObject(body['object']) && kind === undefined) {
    return maskKubernetesResponse(body['object'], fields, cellsKept);
  }
  const own = (structural: string) =>
    maskObject(
      body,
      fields.filter((field) => field !== structural),
    );
  if (kind === 'Table') {
    const rows = body['rows'];
    let count = own('rows');
    if (rows === undefined || rows === null) return count;
    if (!Array.isArray(rows)) throw new Error('a Table without rows');
    // The printer's columns may print a masked field (a custom resource's additionalPrinterColumns,
    // `.spec.token`): each cell is masked but the first, the object's name (format `name`).
    const columns = body['columnDefinitions'];
    const first = Array.isArray(columns) ? columns[0] : undefined;
    const named = isObject(first) && first['format'] === 'name';
    for (const row of rows) {
      if (!isObject(row)) continue;
      const cells = row['cells'];
      if (!cellsKept && Array.isArray(cells)) {
        row['cells'] = cells.map((cell, i) => {
          if ((i === 0 && named) || cell === null) return cell;
          count++;
          return MASKED_TEXT;
        });
      } else if (!cellsKept && cells !== undefined && cells !== null) {
        throw new Error('a Table row whose cells are not an array');
      }
      if (isObject(row['object'])) count += maskKubernetesResponse(row['object'], fields, cellsKept);
    }
    return count;
  }
  // A list (SecretList, List): its items are the objects; a list without kind is read as one too.
  const items = body['items'];
  if (Array.isArray(items) || (typeof kind === 'string' && kind.endsWith('List') && items !== undefined)) {
    let count = own('items');
    if (items === null) return count;
    if (!Array.isArray(items)) throw new Error('a list whose items are not an array');
    for (const item of items) {
      if (!isObject(item)) throw new Error('a list item is not an object');
      count += maskObject(item, fields);
    }
    return count;
  }
  return maskObject(body, fields);
}
