/**
 * The few HTML pages the gateway itself shows during a login (IdP choice, device code entry, the
 * outcome of a SAML sign-in). Every value is escaped; nothing is loaded from elsewhere.
 */
export function identityPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tollgate: ${escapeHtml(title)}</title></head>
<body><main><h1>${escapeHtml(title)}</h1>
${body}
</main></body></html>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Headers for these pages: no caching, no framing, no scripts or loads from anywhere. A form may post
 * to the gateway and be redirected on to `formRedirects` (browsers apply form-action to redirects).
 */
export function identityPageHeaders(formRedirects: readonly string[] = []): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    'content-security-policy': `default-src 'none'; form-action 'self'${formRedirects.map((o) => ` ${o}`).join('')}; frame-ancestors 'none'`,
  };
}
