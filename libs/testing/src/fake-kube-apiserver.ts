import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

type KubeObject = {
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
} & Record<string, unknown>;

/** What the fake API server serves: a few core resources, the real wire format. */
const RESOURCES: Record<string, { kind: string; namespaced: boolean }> = {
  pods: { kind: 'Pod', namespaced: true },
  secrets: { kind: 'Secret', namespaced: true },
  configmaps: { kind: 'ConfigMap', namespaced: true },
  namespaces: { kind: 'Namespace', namespaced: false },
};

const CONSOLE =
  /^\/apis\/subresources\.kubevirt\.io\/v1\/namespaces\/[^/]+\/virtualmachineinstances\/[^/]+\/console$/;

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export interface FakeKubeApiServer {
  readonly url: string;
  /** Requests as the server received them: method, path with query, and the Authorization header. */
  readonly requests: {
    method: string;
    url: string;
    authorization?: string;
    impersonate?: string;
    accept?: string;
  }[];
  /** Adds (or replaces) an object; watchers see ADDED or MODIFIED. */
  put(resource: string, object: KubeObject): void;
  /**
   * Answer reads of this resource in protobuf whatever the client accepts (as a misbehaving server or
   * an aggregated API might), to see that a proxy which must read the body refuses it.
   */
  protobufFor: string | undefined;
  /**
   * What was typed into a virtual machine's serial console: a WebSocket GET of
   * `/apis/subresources.kubevirt.io/v1/namespaces/NS/virtualmachineinstances/NAME/console`
   * (subprotocol plain.kubevirt.io), which echoes what it gets.
   */
  readonly consoleInput: readonly string[];
  /** Streams the server is serving now: watches, followed logs and exec sessions. */
  openStreams(): number;
  /** Appends a line to a pod's log (followers see it at once). */
  log(namespace: string, pod: string, line: string): void;
  close(): Promise<void>;
}

/**
 * A small Kubernetes API server for tests (no real one can run on these machines): legacy discovery
 * (/version, /api, /api/v1, /apis), get/list/create/delete, patch (JSON patch as kube-apiserver's
 * json-patch library applies it, merge patch) and watch (chunked JSON events) of pods,
 * secrets, configmaps and namespaces, pod logs with follow, and exec over the WebSocket
 * subprotocols v5.channel.k8s.io / v4.channel.k8s.io (the command's arguments echoed on stdout, or
 * for `cat` stdin echoed back until it closes or, with a TTY, Ctrl-D; then a Success status on the
 * error channel). Requests need `Bearer <token>`.
 */
export async function startFakeKubeApiServer(token: string): Promise<FakeKubeApiServer> {
  const control = { protobufFor: undefined as string | undefined };
  const objects = new Map<string, KubeObject>();
  const watchers = new Set<{ resource: string; namespace?: string; table: boolean; res: ServerResponse }>();
  const logs = new Map<string, string[]>();
  const followers = new Map<string, Set<ServerResponse>>();
  const requests: FakeKubeApiServer['requests'] = [];
  let version = 100;

  const key = (resource: string, namespace: string | undefined, name: string) =>
    `${resource}/${namespace ?? ''}/${name}`;
  const status = (res: ServerResponse, code: number, reason: string, message: string) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message,
        reason,
        code,
      }),
    );
  };
  const json = (res: ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  /** The server-side printing kubectl asks for (Accept: ...;as=Table): a row per object. */
  const wantsTable = (req: IncomingMessage) => /as=Table/.test(req.headers.accept ?? '');
  const table = (objects: KubeObject[], includeObject: string | null) => ({
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: String(version) },
    columnDefinitions: [
      { name: 'Name', type: 'string', format: 'name', description: 'Name', priority: 0 },
      { name: 'Age', type: 'string', format: '', description: 'Age', priority: 0 },
    ],
    rows: objects.map((o) => ({
      cells: [o.metadata.name, '1d'],
      object:
        includeObject === 'Object'
          ? o
          : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  });
  /** Kubernetes protobuf framing (magic, then the object's bytes): enough for a client to see it is not JSON. */
  const protobuf = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { 'content-type': 'application/vnd.kubernetes.protobuf' });
    res.end(Buffer.concat([Buffer.from('k8s\0'), Buffer.from(JSON.stringify(body))]));
  };
  const event = (type: string, object: KubeObject, asTable: boolean) =>
    `${JSON.stringify({ type, object: asTable ? table([object], 'Object') : object })}\n`;
  const notify = (type: string, resource: string, object: KubeObject) => {
    for (const w of watchers) {
      if (
        w.resource === resource &&
        (w.namespace === undefined || w.namespace === object.metadata.namespace)
      ) {
        w.res.write(event(type, object, w.table));
      }
    }
  };
  const put = (resource: string, object: KubeObject) => {
    const k = key(resource, object.metadata.namespace, object.metadata.name);
    const existed = objects.has(k);
    const stored: KubeObject = {
      apiVersion: 'v1',
      kind: RESOURCES[resource]?.kind ?? 'Unknown',
      ...object,
      metadata: {
        creationTimestamp: '2026-01-01T00:00:00Z',
        uid: `uid-${++version}`,
        ...object.metadata,
        resourceVersion: String(version),
      },
    };
    objects.set(k, stored);
    notify(existed ? 'MODIFIED' : 'ADDED', resource, stored);
    return stored;
  };

  const discovery = (path: string, res: ServerResponse): boolean => {
    if (path === '/version') {
      json(res, 200, {
        major: '1',
        minor: '32',
        gitVersion: 'v1.32.0-tollgate-fake',
        platform: 'linux/amd64',
      });
    } else if (path === '/api') {
      json(res, 200, {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
      });
    } else if (path === '/apis') {
      json(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    } else if (path === '/api/v1') {
      json(res, 200, {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [
          ...Object.entries(RESOURCES).map(([name, r]) => ({
            name,
            singularName: r.kind.toLowerCase(),
            namespaced: r.namespaced,
            kind: r.kind,
            verbs: VERBS,
          })),
          {
            name: 'pods/exec',
            singularName: '',
            namespaced: true,
            kind: 'PodExecOptions',
            verbs: ['create', 'get'],
          },
          { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
        ],
      });
    } else {
      return false;
    }
    return true;
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const impersonate = req.headers['impersonate-user'];
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(typeof impersonate === 'string' ? { impersonate } : {}),
      ...(req.headers.accept ? { accept: req.headers.accept } : {}),
    });
    if (req.headers.authorization !== `Bearer ${token}`)
      return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (discovery(url.pathname, res)) return;
    const parts = url.pathname.split('/').filter(Boolean).slice(2);
    let namespace: string | undefined;
    if (parts[0] === 'namespaces' && parts.length > 2) {
      namespace = parts[1];
      parts.splice(0, 2);
    }
    const [resource = '', name, sub] = parts;
    if (!RESOURCES[resource])
      return status(res, 404, 'NotFound', `the server could not find the requested resource`);
    const kind = RESOURCES[resource].kind;
    if (sub === 'log' && req.method === 'GET' && name) {
      const lk = `${namespace}/${name}`;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.flushHeaders();
      for (const line of logs.get(lk) ?? []) res.write(`${line}\n`);
      if (url.searchParams.get('follow') !== 'true') return void res.end();
      const set = followers.get(lk) ?? new Set();
      followers.set(lk, set.add(res));
      req.on('close', () => set.delete(res));
      return;
    }
    if (req.method === 'GET' && !name) {
      const items = [...objects.entries()]
        .filter(
          ([k]) =>
            k.startsWith(`${resource}/${namespace ?? ''}`) ||
            (namespace === undefined && k.startsWith(`${resource}/`)),
        )
        .map(([, o]) => o);
      if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        const watcher = {
          resource,
          ...(namespace !== undefined ? { namespace } : {}),
          table: wantsTable(req),
          res,
        };
        watchers.add(watcher);
        res.flushHeaders();
        // As the real server: events after the given resourceVersion (all objects when none).
        const since = Number(url.searchParams.get('resourceVersion') ?? 0);
        for (const o of items) {
          if (Number(o.metadata.resourceVersion) > since) res.write(event('ADDED', o, watcher.table));
        }
        req.on('close', () => watchers.delete(watcher));
        return;
      }
      const list = {
        kind: `${kind}List`,
        apiVersion: 'v1',
        metadata: { resourceVersion: String(version) },
        items,
      };
      if (control.protobufFor === resource) return protobuf(res, list);
      if (wantsTable(req)) return json(res, 200, table(items, url.searchParams.get('includeObject')));
      return json(res, 200, list);
    }
    const k = key(resource, namespace, name ?? '');
    if (req.method === 'GET') {
      const object = objects.get(k);
      if (!object) return status(res, 404, 'NotFound', `${resource} "${name}" not found`);
      if (control.protobufFor === resource) return protobuf(res, object);
      if (wantsTable(req)) return json(res, 200, table([object], url.searchParams.get('includeObject')));
      return json(res, 200, object);
    }
    if (req.method === 'DELETE') {
      const object = objects.get(k);
      if (!object) return status(res, 404, 'NotFound', `${resource} "${name}" not found`);
      objects.delete(k);
      notify('DELETED', resource, object);
      return json(res, 200, object);
    }
    if (req.method === 'POST' && !name) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as KubeObject;
        const objectName = body.metadata?.name;
        if (!objectName) return status(res, 422, 'Invalid', 'metadata.name: Required value');
        if (objects.has(key(resource, namespace, objectName)))
          return status(res, 409, 'AlreadyExists', `${resource} "${objectName}" already exists`);
        json(
          res,
          201,
          put(resource, {
            ...body,
            metadata: { ...body.metadata, name: objectName, ...(namespace ? { namespace } : {}) },
          }),
        );
      });
      return;
    }
    if (req.method === 'PATCH' && name) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const object = objects.get(k);
        if (!object) return status(res, 404, 'NotFound', `${resource} "${name}" not found`);
        // As kube-apiserver: the media type before any parameter, compared as written.
        const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
        let patched: KubeObject;
        try {
          const patch = JSON.parse(Buffer.concat(chunks).toString()) as unknown;
          if (type === 'application/json-patch+json') patched = applyJsonPatch(object, patch);
          else if (
            type === 'application/merge-patch+json' ||
            type === 'application/strategic-merge-patch+json'
          )
            patched = mergePatch(object, patch) as KubeObject;
          else
            return status(
              res,
              415,
              'UnsupportedMediaType',
              `the body of the request was in an unknown format`,
            );
        } catch (error) {
          return status(res, 422, 'Invalid', (error as Error).message);
        }
        if (patched.metadata?.name !== name)
          return status(
            res,
            400,
            'BadRequest',
            `the name of the object (${String(patched.metadata?.name)}) does not match the name on the URL (${name})`,
          );
        json(res, 200, put(resource, patched));
      });
      return;
    }
    status(res, 405, 'MethodNotAllowed', 'the fake API server does not do that');
  });

  const sockets = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) =>
      ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'plain.kubevirt.io'].find((p) => protocols.has(p)) ?? false,
  });
  const consoleInput: string[] = [];
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    if (req.headers.authorization !== `Bearer ${token}`) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    // An aggregated API's interactive subresource, authorized as `get` (KubeVirt's serial console).
    if (CONSOLE.test(url.pathname)) {
      sockets.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        ws.on('message', (data: Buffer) => {
          consoleInput.push(data.toString());
          ws.send(data);
        });
      });
      return;
    }
    if (!url.pathname.endsWith('/exec')) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const send = (channel: number, text: string) =>
        ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(text)]));
      const command = url.searchParams.getAll('command');
      const finish = () => {
        send(3, JSON.stringify({ metadata: {}, status: 'Success' }));
        ws.close(1000);
      };
      if (command[0] === 'cat') {
        // Echoes stdin until the client closes it (v5: a close signal for channel 0).
        // With a TTY, Ctrl-D ends it as a terminal would.
        const tty = url.searchParams.get('tty') === 'true';
        ws.on('message', (data: Buffer) => {
          if (data[0] === 0) send(1, data.subarray(1).toString());
          if ((data[0] === 255 && data[1] === 0) || (tty && data[0] === 0 && data.includes(4, 1))) finish();
        });
      } else {
        send(1, `${command.slice(1).join(' ')}\n`);
        finish();
      }
    });
  });

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    consoleInput,
    openStreams: () =>
      watchers.size + [...followers.values()].reduce((n, set) => n + set.size, 0) + sockets.clients.size,
    get protobufFor() {
      return control.protobufFor;
    },
    set protobufFor(resource: string | undefined) {
      control.protobufFor = resource;
    },
    put: (resource, object) => void put(resource, object),
    log: (namespace, pod, line) => {
      const lk = `${namespace}/${pod}`;
      logs.set(lk, [...(logs.get(lk) ?? []), line]);
      for (const res of followers.get(lk) ?? []) res.write(`${line}\n`);
    },
    close: async () => {
      for (const w of watchers) w.res.destroy();
      for (const set of followers.values()) for (const res of set) res.destroy();
      for (const client of sockets.clients) client.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * RFC 6902 as evanphx/json-patch (kube-apiserver's) applies it: a pointer is split at `/` and its
 * first part ignored whatever it holds, `~1` and `~0` decoded; copy, move and test read the object.
 */
function applyJsonPatch(object: KubeObject, patch: unknown): KubeObject {
  if (!Array.isArray(patch))
    throw new Error('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  const doc = JSON.parse(JSON.stringify(object)) as { [key: string]: Json };
  const locate = (pointer: unknown): [{ [key: string]: Json } | Json[], string] => {
    if (typeof pointer !== 'string') throw new Error('operation missing path field');
    const parts = pointer.split('/').map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    if (parts.length < 2) throw new Error(`doc is missing path: "${pointer}"`);
    let at: Json = doc;
    for (const part of parts.slice(1, -1)) {
      const next: Json | undefined = Array.isArray(at) ? at[Number(part)] : isMap(at) ? at[part] : undefined;
      if (!isMap(next) && !Array.isArray(next)) throw new Error(`doc is missing path: "${pointer}"`);
      at = next;
    }
    return [at, parts.at(-1)!];
  };
  const get = (pointer: unknown): Json => {
    const [at, key] = locate(pointer);
    const value = Array.isArray(at) ? at[Number(key)] : at[key];
    if (value === undefined) throw new Error(`doc is missing path: "${String(pointer)}"`);
    return value;
  };
  const set = (pointer: unknown, value: Json, insert: boolean) => {
    const [at, key] = locate(pointer);
    if (!Array.isArray(at)) at[key] = value;
    else if (key === '-') at.push(value);
    else at.splice(Number(key), insert ? 0 : 1, value);
  };
  const remove = (pointer: unknown) => {
    const [at, key] = locate(pointer);
    if (Array.isArray(at)) at.splice(Number(key), 1);
    else if (key in at) delete at[key];
    else throw new Error(`Unable to remove nonexistent key: ${key}`);
  };
  for (const op of patch as { op?: unknown; path?: unknown; from?: unknown; value?: Json }[]) {
    if (op.op === 'add') set(op.path, op.value ?? null, true);
    else if (op.op === 'replace') {
      get(op.path);
      set(op.path, op.value ?? null, false);
    } else if (op.op === 'remove') remove(op.path);
    else if (op.op === 'copy') set(op.path, JSON.parse(JSON.stringify(get(op.from))) as Json, true);
    else if (op.op === 'move') {
      const value = get(op.from);
      remove(op.from);
      set(op.path, value, true);
    } else if (op.op === 'test') {
      if (JSON.stringify(get(op.path)) !== JSON.stringify(op.value))
        throw new Error(`testing value ${String(op.path)} failed: test failed`);
    } else throw new Error(`Unexpected kind: ${String(op.op)}`);
  }
  return doc as KubeObject;
}

const isMap = (value: Json | undefined): value is { [key: string]: Json } =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** RFC 7386 merge patch (the fake reads a strategic merge patch as one too). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch as Json)) return patch;
  const out: { [key: string]: Json } = isMap(target as Json)
    ? { ...(target as { [key: string]: Json }) }
    : {};
  for (const [key, value] of Object.entries(patch as { [key: string]: Json })) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value) as Json;
  }
  return out;
}
