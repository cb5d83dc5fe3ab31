import {
  cgiHeaderName,
  headerTokens,
  requestsUpgrade,
  type HttpHeader,
  type RequestHead,
} from './http-messages';
import { foreignPageRequest } from './foreign-page-request';
import { HttpProtocolError } from './http-protocol.error';
import { requestPath } from './request-path';

/** Hop-by-hop headers (RFC 9110 section 7.6.1): they describe one connection, never forwarded as sent. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'upgrade',
  'host',
]);

/**
 * What a proxy says about the client behind it (its address, the host and scheme it asked for). A
 * target that trusts the proxy in front of it (Express's `trust proxy`, Rails' RemoteIp, Spring's
 * ForwardedHeaderFilter, ASP.NET's ForwardedHeaders, nginx's real_ip; kube-apiserver's audit source
 * IPs) believes them: from a caller they are claims nobody checked (`X-Forwarded-For: 127.0.0.1`
 * past an allowlist of local addresses), so none is forwarded. Compared in CGI form (`X_Forwarded_For`).
 */
function claimsAboutClient(cgiName: string): boolean {
  return cgiName === 'forwarded' || cgiName.startsWith('x-forwarded-') || CLIENT_ADDRESS_HEADERS.has(cgiName);
}

const CLIENT_ADDRESS_HEADERS = new Set([
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'x-originating-ip',
  'x-cluster-client-ip',
  'client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
]);

export interface ForwardingRules {
  /** The target's authority (`host:port` as in its URL), sent as Host. */
  readonly host: string;
  /** Path prefix of the target's base URL (`/api` for `https://x/api`); empty for none. */
  readonly basePath: string;
  /** Headers the agent adds (the credential); callers' headers of the same names are dropped. */
  readonly inject: readonly HttpHeader[];
  /** Caller headers dropped whatever the credential (Kubernetes: Authorization, Impersonate-*). */
  readonly drop?: (name: string) => boolean;
  /** A caller header as forwarded, parts that carry a credential taken out; undefined drops it. */
  readonly scrub?: (header: HttpHeader) => HttpHeader | undefined;
  /**
   * Upgrade protocols offered on to the target (lower case, `websocket`, `spdy/3.1`); others are
   * not offered, so the request goes on as a plain one. Default: WebSocket only.
   */
  readonly upgrades?: readonly string[];
}

/**
 * The body's framing is the request's own, never the caller's to drop: a `Connection:
 * Content-Length` honored here would send the body as the next request, one policy never saw.
 */
const FRAMING = new Set(['content-length', 'transfer-encoding']);

/**
 * The Upgrade protocols the target may switch to. An h2c switch, say, would turn the connection into
 * HTTP/2 frames whose requests the relay no longer reads (h2c smuggling); only protocols that carry
 * the one request policy decided on (WebSocket) are offered.
 */
export function offeredUpgrades(head: RequestHead, allowed: readonly string[]): string[] {
  if (!requestsUpgrade(head)) return [];
  // As the caller spelled them (servers compare them without case, but need not).
  return head.headers
    .filter(([name]) => name.toLowerCase() === 'upgrade')
    .flatMap(([, value]) => value.split(','))
    .map((protocol) => protocol.trim())
    .filter((protocol) => allowed.includes(protocol.toLowerCase()));
}

/**
 * The request as the agent sends it to the target (a web page's is refused, see foreignPageRequest): Host and base path of the target, hop-by-hop
 * headers (and any the caller's Connection header names) and claims about the client removed, every header the agent injects
 * replaced by the agent's value, so a caller can neither see nor override the credential.
 */
export function forwardedRequest(head: RequestHead, rules: ForwardingRules): RequestHead {
  // Every client comes through tollgate connect's loopback listener, which web pages reach too.
  const foreign = foreignPageRequest(head);
  if (foreign !== undefined) throw new HttpProtocolError(403, foreign);
  const escape = basePathEscape(head.target, rules.basePath);
  if (escape !== undefined) throw new HttpProtocolError(400, escape);
  const dropped = new Set([
    ...HOP_BY_HOP,
    ...headerTokens(head.headers, 'connection').filter((name) => !FRAMING.has(name)),
  ]);
  // A caller's header a CGI-style server would read as the credential's (`X_Api_Key` for X-Api-Key)
  // is dropped too, so the target never reads the caller's value where the agent's goes.
  const injected = new Set(rules.inject.map(([name]) => cgiHeaderName(name)));
  const headers: HttpHeader[] = [['Host', rules.host]];
  // Lengths that agree (`5, 5` or the header twice) were accepted; targets that refuse them (node,
  // Go) get the one value.
  const length = headerTokens(head.headers, 'content-length')[0];
  if (length !== undefined) headers.push(['Content-Length', length]);
  for (const header of head.headers) {
    const lower = header[0].toLowerCase();
    const cgiName = cgiHeaderName(lower);
    if (lower === 'content-length' || dropped.has(lower) || injected.has(cgiName)) continue;
    if (claimsAboutClient(cgiName)) continue;
    if (rules.drop?.(header[0]) || rules.drop?.(cgiName)) continue;
    const kept = rules.scrub ? rules.scrub(header) : header;
    if (kept) headers.push(kept);
  }
  const upgrades = offeredUpgrades(head, rules.upgrades ?? ['websocket']);
  if (upgrades.length > 0) {
    headers.push(['Connection', 'Upgrade'], ['Upgrade', upgrades.join(', ')]);
  } else if (headerTokens(head.headers, 'connection').includes('close')) {
    headers.push(['Connection', 'close']);
  } else if (head.version === '1.0' && headerTokens(head.headers, 'connection').includes('keep-alive')) {
    headers.push(['Connection', 'keep-alive']);
  }
  const te = headerTokens(head.headers, 'te');
  if (te.includes('trailers')) headers.push(['TE', 'trailers']);
  headers.push(...rules.inject);
  const target = head.target === '*' ? '*' : rules.basePath + originForm(head.target);
  return { ...head, target, headers };
}

/**
 * Why a request could leave the target's base path, or undefined. The base path goes in front of the
 * path as sent, so a path with dot segments (`/../tenant-b`, `%2e%2e`, `..%2F`), a `;parameter`
 * (Tomcat reads `/..;/` as `/../`), a backslash or anything else servers read in different ways
 * would be resolved by the target (nginx, WHATWG URL parsers, servlet containers) to a path outside
 * the base: such a request is refused whatever the policy, not only where a rule reads paths.
 */
export function basePathEscape(target: string, basePath: string): string | undefined {
  if (basePath === '' || target === '*') return undefined;
  const path = requestPath(target);
  if (path.ok) return undefined;
  return `the request could leave the target's base path ${basePath}: ${path.error}`;
}

/** `/path?q` of a target in absolute-form (`http://host/path?q`); origin-form stays as it is. */
function originForm(target: string): string {
  const absolute = /^https?:\/\/[^/?#]*/i.exec(target);
  if (!absolute) return target;
  const rest = target.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}
