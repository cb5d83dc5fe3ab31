import { headerValue, type RequestHead } from './http-messages';

/**
 * Why a request looks sent by a web page of another site, or undefined. `tollgate connect` listens on
 * 127.0.0.1 and any page the user's browser shows can send to it: by its own name pointed at
 * 127.0.0.1 (DNS rebinding; the page then reads the answers as its own, with the user's access), or
 * cross-site (a form POST, an image: the answer unread, the effect done). Browsers say which:
 * - `Host` names the site whose page sent it, not the listener (rebinding): only loopback names are
 *   served (`127.0.0.0/8`, `[::1]`, `localhost` and `*.localhost`, any port);
 * - `Origin` names another site (`null` for a sandboxed frame or a `data:` page);
 * - `Sec-Fetch-Site: cross-site` on what carries no Origin (navigations, images, scripts).
 * Clients that are not browsers (curl, kubectl, SDKs) send the listener's own address as Host.
 */
export function foreignPageRequest(head: RequestHead): string | undefined {
  const host = headerValue(head.headers, 'host');
  if (host !== undefined && !isLoopback(hostname(host))) {
    return `a web page cannot use tollgate connect: the request is for ${JSON.stringify(host)}, not for the listener (127.0.0.1 or localhost), as a page whose name was pointed at 127.0.0.1 (DNS rebinding) sends it; use http://127.0.0.1:<port>`;
  }
  const origin = headerValue(head.headers, 'origin');
  if (origin !== undefined && !isLoopback(originHost(origin))) {
    return `a web page cannot use tollgate connect: the request was sent by a page of ${JSON.stringify(origin)} (cross-site)`;
  }
  const site = headerValue(head.headers, 'sec-fetch-site')?.toLowerCase();
  if (site === 'cross-site') {
    return 'a web page cannot use tollgate connect: the request was sent by a page of another site (Sec-Fetch-Site: cross-site)';
  }
  return undefined;
}

/** The host of a Host header (`[::1]:8081` is `[::1]`), lower case, without a trailing dot. */
function hostname(host: string): string {
  const bare = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');
  return bare.toLowerCase().replace(/\.$/, '');
}

function originHost(origin: string): string {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.hostname.replace(/\.$/, '') : '';
  } catch {
    // `null` and anything that is no URL.
    return '';
  }
}

function isLoopback(host: string): boolean {
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}
