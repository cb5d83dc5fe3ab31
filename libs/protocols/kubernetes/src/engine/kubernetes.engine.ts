import {
  kubernetesMaskedFields,
  type BodyRecording,
  type CommandFacts,
  type KubernetesCommandFacts,
  type MaskingRules,
} from '@tollgate/policy';
import { Protocol, TlsMode, type ConnectionSpec } from '@tollgate/proto';
import {
  HttpRelayEngine,
  httpTargetSettings,
  offeredUpgrades,
  requestPath,
  type ForwardingRules,
  type HttpTargetSettings,
  type PeekedBody,
  type RequestHead,
  type ResponseRewrite,
  type SecretResolver,
} from '@tollgate/protocol-http';
import { TargetUnreachableError, type CommandPort } from '@tollgate/protocol-tcp';
import { execRecordingTap } from '../exec/exec-recording.tap';
import { kubernetesFacts, kubernetesRequestInfo } from '../request-info';
import { kubernetesReplies } from './kubernetes-status';
import { maskedResponseRewrite } from '../masking/masked-response.rewrite';

/**
 * Headers a caller must not pass to the API server: they would make the agent's credential act as
 * someone else (impersonation) or claim an identity an authenticating proxy vouches for.
 */
const IDENTITY_HEADERS = /^(impersonate-|x-remote-)/i;
/** A bearer token carried as a WebSocket subprotocol, which kube-apiserver authenticates too. */
const TOKEN_SUBPROTOCOL = /^base64url\.bearer\.authorization\.k8s\.io\./i;

/**
 * How a request goes on to the API server: the caller's Authorization, identity headers and any
 * token in Sec-WebSocket-Protocol are dropped (only the agent's credential authenticates); WebSocket
 * and SPDY (port-forward before kubectl 1.31) upgrades are offered.
 */
export const KUBERNETES_FORWARDING: Pick<ForwardingRules, 'drop' | 'scrub' | 'upgrades'> = {
  drop: (name) => IDENTITY_HEADERS.test(name) || name.toLowerCase() === 'authorization',
  scrub: ([name, value]) => {
    if (name.toLowerCase() !== 'sec-websocket-protocol') return [name, value];
    const kept = value
      .split(',')
      .map((protocol) => protocol.trim())
      .filter((protocol) => protocol !== '' && !TOKEN_SUBPROTOCOL.test(protocol));
    return kept.length > 0 ? [name, kept.join(', ')] : undefined;
  },
  upgrades: ['websocket', 'spdy/3.1'],
};

/**
 * The facts a kubernetes connection's policy decides on: the API request as the server reads it,
 * and what a JSON patch's body reads of the stored object (see kubernetesBodyPeek).
 */
export function kubernetesRequestFacts(head: RequestHead, body?: PeekedBody): CommandFacts {
  const [upgrade] = offeredUpgrades(head, KUBERNETES_FORWARDING.upgrades ?? []);
  const reads = body ? jsonPatchReads(body) : {};
  // Server-side apply compares each field it sets with the stored one: a conflict with the field's
  // manager (409, also under dryRun) answers whether a stored value differs from the one sent.
  if (patchMediaTypes(head).some((type) => type.startsWith(APPLY_PATCH))) {
    reads.patchReads = [...(reads.patchReads ?? []), { op: 'apply', pointer: '' }];
  }
  const patch = { ...reads, ...(upgrade ? { upgrade } : {}) };
  const path = requestPath(head.target);
  if (!path.ok)
    return { kind: 'kubernetes', verb: head.method.toLowerCase(), ...patch, parseError: path.error };
  const info = kubernetesRequestInfo(head.method, path.path, path.query);
  return info.ok
    ? { ...kubernetesFacts(info.info), ...patch }
    : { kind: 'kubernetes', verb: head.method.toLowerCase(), ...patch, parseError: info.error };
}

/** How much of a JSON patch's body is read before the request is decided. */
export const JSON_PATCH_PEEK_BYTES = 1024 * 1024;
const JSON_PATCH = 'application/json-patch+json';

/**
 * A JSON patch (RFC 6902) can copy, move or test values of the stored object, so its body is read
 * (up to JSON_PATCH_PEEK_BYTES) before the decision: a PATCH any of whose Content-Type headers names
 * it (kube-apiserver reads the first, before any `;`, as written; every one is read here, in any case).
 */
export function kubernetesBodyPeek(head: RequestHead): number | undefined {
  return patchMediaTypes(head).includes(JSON_PATCH) ? JSON_PATCH_PEEK_BYTES : undefined;
}

/** Server-side apply's media types (`application/apply-patch+yaml`, `+json`, `+cbor`). */
const APPLY_PATCH = 'application/apply-patch';

/** A PATCH's media types, every Content-Type header's, lower case without parameters. */
function patchMediaTypes(head: RequestHead): string[] {
  if (head.method.toUpperCase() !== 'PATCH') return [];
  return head.headers
    .filter(([name]) => name.toLowerCase() === 'content-type')
    .map(([, value]) => value.split(';')[0]!.trim().toLowerCase());
}

/**
 * What a JSON patch reads of the object it applies to: the `from` of copy and move, the `path` of
 * test. A body that is not whole or not a JSON patch is unread (it may read anything). Keys are read
 * as Go reads them into a map (exactly, the last of duplicates), as JSON.parse does.
 */
function jsonPatchReads(body: PeekedBody): {
  patchReads?: KubernetesCommandFacts['patchReads'];
  patchUnread?: string;
} {
  if (!body.complete) return { patchUnread: `a JSON patch over ${JSON_PATCH_PEEK_BYTES} bytes` };
  let ops: unknown;
  try {
    ops = JSON.parse(new TextDecoder().decode(body.payload));
  } catch {
    return { patchUnread: 'the body is not JSON' };
  }
  if (!Array.isArray(ops)) return { patchUnread: 'the body is not a JSON patch (an array of operations)' };
  const reads: { op: string; pointer: string }[] = [];
  for (const op of ops) {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) {
      return { patchUnread: 'an operation is not an object' };
    }
    const { op: name, from, path } = op as Record<string, unknown>;
    if (name !== 'copy' && name !== 'move' && name !== 'test') continue;
    const read = name === 'test' ? path : from;
    // A pointer that is not a string is an error to the server; here it reads everything.
    reads.push({ op: name, pointer: typeof read === 'string' ? read : '' });
  }
  return reads.length > 0 ? { patchReads: reads } : {};
}

/**
 * How the response to an API request is masked under the session's masking rules (Secrets' data):
 * undefined when no rule covers the request's resource.
 */
export function kubernetesResponseRewrite(
  masking: MaskingRules,
  facts: CommandFacts,
): ResponseRewrite | undefined {
  if (facts.kind !== 'kubernetes' || masking.kubernetes.length === 0) return undefined;
  // A request that could not be read might be on any resource: every masked field applies.
  const masked = kubernetesMaskedFields(masking, facts);
  if (!masked) return undefined;
  const tableCellsKept =
    facts.group === '' && masked.fields.every((field) => UNPRINTED_CORE_FIELDS.has(field));
  return maskedResponseRewrite({ ...masked, tableCellsKept }, facts.verb === 'watch');
}

/**
 * Fields whose values none of kube-apiserver's own printers for the core group (the Table kubectl
 * get shows) prints: a Secret's row is NAME, TYPE, DATA (how many keys), AGE, a ConfigMap's NAME,
 * DATA, AGE. Where only these are masked, core Tables are relayed as printed. Any other field, or
 * any other group (a custom resource's additionalPrinterColumns can print any path, `.spec.token`),
 * has every cell but the name masked.
 */
const UNPRINTED_CORE_FIELDS: ReadonlySet<string> = new Set(['data', 'stringData', 'binaryData']);

/** Where a pod's service account is mounted (token, ca.crt, namespace). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The API server of a `kubernetes` connection. Without a server URL the connection is in-cluster,
 * as client-go's in-cluster configuration reads it: the API server from the pod's
 * KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, verified with the service account's
 * `ca.crt` (unless the connection names a CA), and the service account's `token` as the bearer
 * token (unless the connection has a credential of its own). The token is read at each session, so
 * a projected token the kubelet rotates is picked up. The mount can be moved with the agent's
 * TOLLGATE_AGENT_KUBE_SERVICEACCOUNT_DIR.
 */
export function kubernetesTargetSettings(
  connection: string,
  target: NonNullable<Extract<ConnectionSpec['target'], { $case: 'kubernetes' }>>['kubernetes'],
  resolveSecret: SecretResolver,
  connectTimeoutMs: number,
): HttpTargetSettings {
  const { serverUrl, tls, credential } = target;
  if (serverUrl) {
    return httpTargetSettings(connection, serverUrl, tls, credential, resolveSecret, connectTimeoutMs);
  }
  const env = (name: string): string | undefined => {
    try {
      return resolveSecret(`env:${name}`) || undefined;
    } catch {
      return undefined;
    }
  };
  const host = env('KUBERNETES_SERVICE_HOST');
  const port = env('KUBERNETES_SERVICE_PORT');
  if (!host || !port) {
    throw new TargetUnreachableError(
      `connection "${connection}" is in-cluster, but this agent does not run in a Kubernetes pod ` +
        '(KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set): run it in the cluster, or set target.server',
    );
  }
  const dir = env('TOLLGATE_AGENT_KUBE_SERVICEACCOUNT_DIR') ?? SERVICE_ACCOUNT_DIR;
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const ownCa = Boolean(tls?.caPem || tls?.caRef);
  const inCluster = {
    caPem: '',
    serverName: '',
    clientCertRef: '',
    clientKeyRef: '',
    ...tls,
    // Always TLS, verified unless the connection says insecureSkipTlsVerify (REQUIRE).
    mode: tls?.mode === TlsMode.REQUIRE ? TlsMode.REQUIRE : TlsMode.VERIFY_FULL,
    caRef: ownCa ? (tls?.caRef ?? '') : `file:${dir}/ca.crt`,
  };
  const hasCredential = Boolean(credential?.bearerTokenRef || tls?.clientCertRef);
  const token = hasCredential
    ? credential
    : {
        bearerTokenRef: `file:${dir}/token`,
        basicUsername: '',
        basicPasswordRef: '',
        headerRefs: {},
      };
  return httpTargetSettings(connection, server, inCluster, token, resolveSecret, connectTimeoutMs);
}

/**
 * `kubernetes` connections: the API server behind the agent's service-account token or client
 * certificate; each request decided by verb, group, resource, subresource, namespace and name, and
 * refused with a Kubernetes Status. Watches, `logs -f` and exec over WebSocket stream through.
 */
export class KubernetesEngine extends HttpRelayEngine {
  readonly protocol = Protocol.KUBERNETES;
  protected readonly replies = kubernetesReplies;
  protected override readonly forwarding = KUBERNETES_FORWARDING;

  protected settings(spec: ConnectionSpec, connectTimeoutMs: number): HttpTargetSettings {
    if (spec.target?.$case !== 'kubernetes') {
      throw new TargetUnreachableError(`connection "${spec.name}" has no kubernetes target`);
    }
    return kubernetesTargetSettings(
      spec.name,
      spec.target.kubernetes,
      this.options.resolveSecret,
      connectTimeoutMs,
    );
  }

  protected classify(head: RequestHead, body?: PeekedBody): CommandFacts {
    return kubernetesRequestFacts(head, body);
  }

  protected override peekBody(head: RequestHead): number | undefined {
    return kubernetesBodyPeek(head);
  }

  protected override tap(commands: CommandPort, head: RequestHead, facts: CommandFacts, cut: () => void) {
    return execRecordingTap(facts, head, (start) => commands.record(start), cut);
  }

  protected override rewrite(masking: MaskingRules, _head: RequestHead, facts: CommandFacts) {
    return kubernetesResponseRewrite(masking, facts);
  }

  /**
   * A request on a resource a masking rule covers (or one that could not be read) carries the values
   * masking hides (a Secret's data, created or updated): its body is not recorded. Its response is
   * recorded as the client gets it, masked.
   */
  protected override bodyPlan(
    bodies: BodyRecording,
    masking: MaskingRules,
    _head: RequestHead,
    facts: CommandFacts,
  ) {
    // Fail closed: a request not read as an API request might be on any resource.
    const rules =
      facts.kind === 'kubernetes'
        ? kubernetesMaskedFields(masking, facts)?.rules
        : masking.kubernetes.map((rule) => rule.rule);
    if (!rules?.length || !bodies.request) return bodies;
    return {
      ...bodies,
      request: `the resource is masked by ${rules.map((rule) => `rule "${rule}"`).join(', ')}`,
    };
  }
}
