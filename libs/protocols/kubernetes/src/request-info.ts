import type { KubernetesCommandFacts } from '@tollgate/policy';

/** What a Kubernetes API request does, as the API server's RequestInfoFactory reads it. */
export interface KubernetesRequestInfo {
  readonly resourceRequest: boolean;
  /** The verb policy sees (exec, attach, portforward and proxy named as such). */
  readonly verb: string;
  /** The verbs RBAC authorizes it as (get and create for pods/exec over WebSocket), when they differ. */
  readonly rbacVerbs?: readonly string[];
  readonly group?: string;
  readonly version?: string;
  readonly resource?: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
}

const METHOD_VERBS: Record<string, string> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** Subresources that are sessions of their own rather than reads or writes of an object. */
const SESSION_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
/**
 * `watch` values every parser reads alike. kube-apiserver reads anything but `0` and `false` (any
 * case) as true, strconv.ParseBool and others read `f`, `F`, `no` as false: those are refused.
 */
const WATCH = /^(?:1|t|true)$/i;
const NO_WATCH = /^(?:0|false)$/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export type RequestInfoResult =
  | { readonly ok: true; readonly info: KubernetesRequestInfo }
  | { readonly ok: false; readonly error: string };

/**
 * Reads a request the way kube-apiserver does (k8s.io/apiserver/pkg/endpoints/request): `/api/v1`
 * is the core group, `/apis/GROUP/VERSION` the others, `namespaces/NS/` scopes a resource, a GET
 * without a name is a list (or a watch with `watch=true`), a DELETE without a name a
 * deletecollection, and the legacy `watch/` and `proxy/` prefixes name their verb. `path` must be
 * normalized already (no dot segments, decoded), and `query` is the raw query string.
 */
export function kubernetesRequestInfo(method: string, path: string, query: string): RequestInfoResult {
  const methodVerb = METHOD_VERBS[method.toUpperCase()];
  const parts = path.split('/').filter((p) => p !== '');
  const prefix = parts[0];
  if (prefix !== 'api' && prefix !== 'apis') {
    return { ok: true, info: { resourceRequest: false, verb: method.toLowerCase() } };
  }
  let rest: string[];
  let group: string;
  let version: string | undefined;
  if (prefix === 'api') {
    version = parts[1];
    group = '';
    rest = parts.slice(2);
  } else {
    group = parts[1] ?? '';
    version = parts[2];
    rest = parts.slice(3);
  }
  // Discovery (/api, /apis, /apis/apps, /api/v1) is not about a resource.
  if (version === undefined || rest.length === 0 || (prefix === 'apis' && group === '')) {
    return { ok: true, info: { resourceRequest: false, verb: method.toLowerCase() } };
  }
  if (!methodVerb) return { ok: false, error: `method ${method} is not a Kubernetes API verb` };
  let verb = methodVerb;
  if (rest[0] === 'watch' || rest[0] === 'proxy') {
    verb = rest[0];
    rest = rest.slice(1);
    if (rest.length === 0) return { ok: false, error: `a ${verb} request without a resource` };
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
  }
  const resource = rest[0]!;
  const name = rest[1];
  const subresource = verb !== 'proxy' ? rest[2] : undefined;
  if (name === undefined) {
    if (verb === 'get') {
      const params = kubernetesQuery(query);
      if (typeof params === 'string') return { ok: false, error: params };
      const watch = params.get('watch') ?? [];
      if (watch.length > 1) {
        // kube-apiserver reads the first, many other parsers the last.
        return { ok: false, error: 'watch is given more than once' };
      }
      const value = watch[0];
      if (value !== undefined && !WATCH.test(value) && !NO_WATCH.test(value)) {
        return {
          ok: false,
          error: `watch=${value} is read as true by the API server and as false by other parsers; send watch=true or watch=false`,
        };
      }
      verb = value !== undefined && WATCH.test(value) ? 'watch' : 'list';
    } else if (verb === 'delete') {
      verb = 'deletecollection';
    }
  }
  let rbacVerbs: string[] | undefined;
  if (subresource && SESSION_SUBRESOURCES.has(subresource) && resource === 'pods') {
    // API servers authorize a WebSocket (GET) exec, attach or port-forward as create too.
    rbacVerbs = verb === 'create' ? ['create'] : [verb, 'create'];
    verb = subresource;
  } else if (subresource === 'proxy') {
    rbacVerbs = [verb];
    verb = 'proxy';
  }
  return {
    ok: true,
    info: {
      resourceRequest: true,
      verb,
      ...(rbacVerbs ? { rbacVerbs } : {}),
      group,
      version,
      resource,
      ...(subresource ? { subresource } : {}),
      ...(namespace !== undefined ? { namespace } : {}),
      ...(name !== undefined ? { name } : {}),
    },
  };
}

/**
 * A query's parameters as Go's url.ParseQuery reads them (`&` between pairs, `+` a space), or
 * why the query is read differently elsewhere: Go before 1.17 split pairs at `;` too and later
 * versions drop such pairs; a bad escape drops a pair in Go and stays as it is in WHATWG parsers.
 */
export function kubernetesQuery(query: string): ReadonlyMap<string, readonly string[]> | string {
  const params = new Map<string, string[]>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    if (pair.includes(';')) return 'the query has a ";", which API servers read as a separator or drop';
    const equals = pair.indexOf('=');
    const name = unescapeQuery(equals < 0 ? pair : pair.slice(0, equals));
    const value = unescapeQuery(equals < 0 ? '' : pair.slice(equals + 1));
    if (name === undefined || value === undefined) {
      return 'the query has a malformed percent-escape or is not UTF-8';
    }
    params.set(name, [...(params.get(name) ?? []), value]);
  }
  return params;
}

function unescapeQuery(text: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(ch === '+' ? ' ' : ch, 'utf8'));
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/** The request as policy facts. */
export function kubernetesFacts(info: KubernetesRequestInfo): KubernetesCommandFacts {
  const { verb, rbacVerbs, group, resource, subresource, namespace, name } = info;
  return {
    kind: 'kubernetes',
    verb,
    ...(rbacVerbs !== undefined ? { rbacVerbs } : {}),
    ...(group !== undefined ? { group } : {}),
    ...(resource !== undefined ? { resource } : {}),
    ...(subresource !== undefined ? { subresource } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
  };
}
