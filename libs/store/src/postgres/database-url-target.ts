export interface DatabaseUrlTarget {
  /** `postgres://host:port/database`, credentials and query removed. */
  readonly describe: string;
  /** `host:port`, for error messages. */
  readonly hostPort: string;
  /** The password as written in the URL (decoded), to scrub from driver messages. */
  readonly password: string | undefined;
}

/** Parses a DATABASE_URL without ever echoing it: the URL may carry a password. */
export function databaseUrlTarget(databaseUrl: string): DatabaseUrlTarget {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new Error(
      'the database URL is not a valid URL (expected postgres://user:password@host:port/database)',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`the database URL must start with postgres:// or postgresql://, not ${url.protocol}//`);
  }
  const hostPort = `${url.hostname || 'localhost'}:${url.port || '5432'}`;
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    describe: `postgres://${hostPort}/${database}`,
    hostPort,
    password: url.password ? decodeURIComponent(url.password) : undefined,
  };
}

/** Removes the password from a driver message, in case a driver ever quotes its configuration. */
export function scrubPassword(text: string, password: string | undefined): string {
  if (!password) return text;
  return text.replaceAll(password, '***').replaceAll(encodeURIComponent(password), '***');
}
