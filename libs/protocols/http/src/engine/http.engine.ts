import { Protocol, type ConnectionSpec } from '@tollgate/proto';
import {
  frameStreamDuplex,
  TargetUnreachableError,
  type EngineOpenOptions,
  type EngineSession,
  type FrameCodec,
  type CommandPort,
  type FrameStream,
  type RelayEngine,
  type RelayOutcome,
} from '@tollgate/protocol-tcp';
import type { BodyRecording, CommandFacts, MaskingRules } from '@tollgate/policy';
import { forwardedRequest, offeredUpgrades, type ForwardingRules } from '../forwarded-request';
import { cgiHeaderName, headerTokens, type RequestHead } from '../http-messages';
import { requestPath } from '../request-path';
import {
  HttpSession,
  type PeekedBody,
  type ReplyFormat,
  type ResponseRewrite,
  type StreamTap,
} from '../proxy/http-session';
import type { BodyPlan } from '../proxy/body-recorder';
import {
  connectHttpTarget,
  httpTargetSettings,
  type HttpTargetSettings,
  type SecretResolver,
} from './http-target';
import { httpReplies } from './http-replies';

export interface HttpEngineOptions {
  /** Resolves the connection's credential references (env:/file:) on the agent. */
  readonly resolveSecret: SecretResolver;
  /** Cut-off for a client that started a request head and stalls (slow-loris); default 30 s. */
  readonly headTimeoutMs?: number;
  /** Cut-off for a connection idle between requests; default 5 minutes. */
  readonly idleTimeoutMs?: number;
}

/**
 * Headers and a query parameter by which many web frameworks run another method than the request's;
 * header names compare as CGI-style servers key them (`X_HTTP_Method_Override` too).
 */
const METHOD_OVERRIDES = ['x-http-method-override', 'x-http-method', 'x-method-override'];
/**
 * Headers that name another path for the server to act on: WebDAV's COPY and MOVE write to
 * `Destination`; IIS URL Rewrite, Symfony and Zend route by `X-Original-URL` / `X-Rewrite-URL`.
 */
const SECOND_PATHS = ['destination', 'x-original-url', 'x-rewrite-url'];

/**
 * The facts an http connection's policy decides on: method and normalized path. A request that
 * names another method for the application to run (X-HTTP-Method-Override and its kin, or a
 * `_method` query parameter: Express's method-override, Laravel, Symfony and others honor them)
 * reads as two requests, so it is not read at all: unclassified, denied wherever a rule applies; so
 * does one that names a second path (SECOND_PATHS).
 */
export function httpRequestFacts(head: RequestHead, body?: PeekedBody): CommandFacts {
  const path = requestPath(head.target);
  if (!path.ok) return { kind: 'http', method: head.method, path: head.target, parseError: path.error };
  const named = [
    ...head.headers.filter(([name]) => METHOD_OVERRIDES.includes(cgiHeaderName(name))).map(([, v]) => v),
    ...methodParameters(new URLSearchParams(path.query)),
    ...(body?.complete ? formMethods(head, body.payload) : []),
  ].filter((method) => method.trim().toUpperCase() !== head.method.toUpperCase());
  if (named.length > 0) {
    return {
      kind: 'http',
      method: head.method,
      path: path.path,
      parseError: `the request asks the server to run it as ${named.map((m) => JSON.stringify(m.trim())).join(', ')} (a method override), not ${head.method}`,
    };
  }
  const [second] = head.headers.filter(([name]) => SECOND_PATHS.includes(cgiHeaderName(name)));
  if (second) {
    return {
      kind: 'http',
      method: head.method,
      path: path.path,
      parseError: `the request names a second path in ${second[0]} (${JSON.stringify(second[1])}), which the server may act on instead of, or as well as, ${path.path}`,
    };
  }
  const [upgrade] = offeredUpgrades(head, ['websocket']);
  return {
    kind: 'http',
    method: head.method,
    path: path.path,
    ...(upgrade ? { upgrade } : {}),
    ...(body && !body.complete
      ? {
          methodUnread: `a form body over ${FORM_PEEK_BYTES} bytes may name another method in a _method field`,
        }
      : {}),
    ...(body?.complete && contentCodings(head).length > 0
      ? {
          methodUnread: `a form body sent ${contentCodings(head).join(', ')}-encoded (Express's body-parser inflates it) may name another method in a _method field`,
        }
      : {}),
  };
}

/** The request's content codings (gzip, deflate, br...), identity left out. */
function contentCodings(head: RequestHead): string[] {
  return headerTokens(head.headers, 'content-encoding').filter((coding) => coding !== 'identity');
}

/** How much of a form POST's body is read for a `_method` field before the request is decided. */
export const FORM_PEEK_BYTES = 1024 * 1024;

const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data']);
/** What Laravel reads as JSON input (`Request::isJson`: the type contains `/json` or `+json`). */
const JSON_TYPE = /[/+]json/i;

/**
 * Rails (Rack::MethodOverride), Laravel, Symfony and Express's method-override read `_method` from
 * the form body of a POST, and Laravel from a JSON body too (its input is the JSON object, which
 * Symfony's method override reads): such a body is read (up to FORM_PEEK_BYTES) before the decision.
 */
export function formBodyPeek(head: RequestHead): number | undefined {
  if (head.method.toUpperCase() !== 'POST') return undefined;
  return formKind(head) || JSON_TYPE.test(contentType(head)) ? FORM_PEEK_BYTES : undefined;
}

function contentType(head: RequestHead): string {
  return head.headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '';
}

/**
 * Which form a body is as servers read its Content-Type: the type cut at `;`, `,` or a space (Rack
 * splits at `;` and `,`, PHP at those and spaces: `application/x-www-form-urlencoded, text/plain` is
 * a form there), and a POST without one (or an empty one) a URL-encoded form, as Rack reads it.
 */
function formKind(head: RequestHead): string | undefined {
  const value = contentType(head).trim();
  if (value === '') return 'application/x-www-form-urlencoded';
  const type = (value.split(/[;,\s]/, 1)[0] ?? '').toLowerCase();
  return FORM_TYPES.has(type) ? type : undefined;
}

/** The `_method` values of a form body (URL-encoded fields or multipart parts named so, a JSON object's). */
function formMethods(head: RequestHead, payload: Buffer): string[] {
  const type = contentType(head);
  const kind = formKind(head);
  const text = payload.toString('latin1');
  if (!kind && JSON_TYPE.test(type)) return jsonMethods(payload);
  if (kind === 'application/x-www-form-urlencoded') return methodParameters(new URLSearchParams(text));
  if (kind !== 'multipart/form-data') return [];
  // Any part named _method, whatever the boundary says: a parser that splits parts otherwise must
  // not find one the relay missed. Its value runs to the next CRLF.
  const methods: string[] = [];
  const part = /content-disposition:([^\r\n]*)\r?\n(?:[^\r\n]+\r?\n)*\r?\n([^\r\n]*)/gi;
  for (const match of text.matchAll(part)) {
    // Every name= of the line (filename= too): whichever a parser takes, a _method is seen.
    const names = [...(match[1] ?? '').matchAll(/name\s*=\s*(?:"([^"]*)"|([^;\s]*))/gi)];
    if (names.some((name) => isMethodParameter(name[1] ?? name[2] ?? ''))) methods.push(match[2] ?? '');
  }
  return methods;
}

/** The values of parameters named `_method`, as any framework reads the name (see isMethodParameter). */
function methodParameters(params: URLSearchParams): string[] {
  return [...params].filter(([name]) => isMethodParameter(name)).map(([, value]) => value);
}

/**
 * Whether a form or query parameter's name is `_method`: as written, or as PHP reads it (Laravel and
 * Symfony take `_method` from PHP's parameters), leading spaces dropped, then `.` and ` ` turned into
 * `_` up to a `[` (`_method[]` an array, `.method` and ` _method` are `_method`).
 */
function isMethodParameter(name: string): boolean {
  const php = name.replace(/^ +/, '');
  const bracket = php.indexOf('[');
  const base = bracket >= 0 && php.includes(']', bracket) ? php.slice(0, bracket) : php;
  return base.replace(/[ .[]/g, '_') === '_method';
}

/**
 * A JSON body's top-level `_method` (Symfony takes only a string). A body that does not parse as
 * JSON is no input to Laravel either (its json() is then empty).
 */
function jsonMethods(payload: Buffer): string[] {
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return [];
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [];
  const method = (body as Record<string, unknown>)['_method'];
  return typeof method === 'string' ? [method] : [];
}

/**
 * What the http and kubernetes engines share: the target reached when the session opens (so the
 * caller hears "target unreachable" at once, TLS verified), then an HttpSession over the tunnel
 * stream with the protocol's own classification and replies.
 */
export abstract class HttpRelayEngine implements RelayEngine {
  abstract readonly protocol: Protocol;

  constructor(protected readonly options: HttpEngineOptions) {}

  protected abstract settings(spec: ConnectionSpec, connectTimeoutMs: number): HttpTargetSettings;
  protected abstract classify(head: RequestHead, body?: PeekedBody): CommandFacts;
  /** How much of a request's body policy reads before deciding (see HttpSessionOptions.peekBody). */
  protected peekBody(_head: RequestHead): number | undefined {
    return undefined;
  }
  protected abstract readonly replies: ReplyFormat;
  /** How an allowed request's response is rewritten under the session's masking; none by default. */
  protected rewrite(
    _masking: MaskingRules,
    _head: RequestHead,
    _facts: CommandFacts,
  ): ResponseRewrite | undefined {
    return undefined;
  }
  /** What watches an allowed request's switched protocol (Kubernetes exec, recorded); none by default. */
  protected tap(
    _commands: CommandPort,
    _head: RequestHead,
    _facts: CommandFacts,
    _cut: () => void,
  ): StreamTap | string | undefined {
    return undefined;
  }
  /**
   * Which bodies of an allowed request are recorded, from the session's `bodies` (the policy's audit
   * rules); the Kubernetes engine leaves out what its masking rules cover.
   */
  protected bodyPlan(
    bodies: BodyRecording,
    _masking: MaskingRules,
    _head: RequestHead,
    _facts: CommandFacts,
  ): BodyPlan | undefined {
    return bodies;
  }
  /**
   * The protocol's own forwarding rules: caller headers never forwarded whatever the credential
   * (identity headers), credentials taken out of others, the upgrades offered (WebSocket by default).
   */
  protected readonly forwarding: Pick<ForwardingRules, 'drop' | 'scrub' | 'upgrades'> = {};

  async open(spec: ConnectionSpec, options: EngineOpenOptions): Promise<EngineSession> {
    const commands = options.commands;
    // Without a policy path the engine would forward requests unchecked: refuse instead (fail closed).
    if (!commands) throw new TargetUnreachableError('the agent has no policy path for this session');
    const settings = this.settings(spec, options.connectTimeoutMs);
    const first = await connectHttpTarget(settings);
    const rules = {
      host: settings.url.host,
      basePath: settings.url.pathname.replace(/\/+$/, ''),
      inject: settings.inject,
      ...this.forwarding,
    };
    let session: HttpSession | undefined;
    let aborted = false;
    // Sessions that record no bodies do no capture work at all.
    const bodies = commands.bodies;
    return {
      relay: async <In, Out>(stream: FrameStream<Out>, codec: FrameCodec<In, Out>): Promise<RelayOutcome> => {
        const client = frameStreamDuplex(stream, codec);
        client.on('error', () => undefined);
        session = new HttpSession(client, {
          first,
          connect: () => connectHttpTarget(settings),
          forward: (head) => forwardedRequest(head, rules),
          classify: (head, body) => this.classify(head, body),
          peekBody: (head) => this.peekBody(head),
          rewrite: (head, facts) => this.rewrite(commands.masking, head, facts),
          tap: (head, facts) => this.tap(commands, head, facts, () => session?.abort()),
          ...(bodies
            ? {
                // The credential's values go along: a target may echo them, they are never recorded.
                bodies: (head: RequestHead, facts: CommandFacts) => {
                  const plan = this.bodyPlan(bodies, commands.masking, head, facts);
                  return plan && { ...plan, secrets: settings.secrets };
                },
              }
            : {}),
          commands,
          replies: this.replies,
          headTimeoutMs: this.options.headTimeoutMs ?? 30_000,
          idleTimeoutMs: this.options.idleTimeoutMs ?? 300_000,
        });
        if (aborted) session.abort();
        await session.run();
        return { kind: 'normal' };
      },
      abort: () => {
        aborted = true;
        first.destroy();
        session?.abort();
      },
    };
  }
}

/** `http` connections: any HTTP/1.1 service, decided by method and path. */
export class HttpEngine extends HttpRelayEngine {
  readonly protocol = Protocol.HTTP;
  protected readonly replies = httpReplies;

  protected settings(spec: ConnectionSpec, connectTimeoutMs: number): HttpTargetSettings {
    if (spec.target?.$case !== 'http')
      throw new TargetUnreachableError(`connection "${spec.name}" has no http target`);
    const { baseUrl, tls, credential } = spec.target.http;
    return httpTargetSettings(
      spec.name,
      baseUrl,
      tls,
      credential,
      this.options.resolveSecret,
      connectTimeoutMs,
    );
  }

  protected classify(head: RequestHead, body?: PeekedBody): CommandFacts {
    return httpRequestFacts(head, body);
  }

  protected override peekBody(head: RequestHead): number | undefined {
    return formBodyPeek(head);
  }
}
