/** A native client invocation that reaches a connection through `tollgate connect`'s listener. */
export interface ClientCommand {
  readonly program: string;
  readonly args: readonly string[];
  /**
   * What the client does when the caller says nothing of its own (curl fetches `/`, kubectl lists
   * namespaces): left out once the caller's arguments name a URL or a kubectl command.
   */
  readonly defaults?: readonly string[];
  /** http: the listener's URL, which a caller's `/path` argument is read against. */
  readonly baseUrl?: string;
}

/**
 * The usual client for each protocol, pointed at the local listener. Who it logs in as at the target
 * is the connection's business (the agent logs in with the connection's user and credential), so
 * PostgreSQL's database name is the connection's name: it shows in psql's prompt.
 */
export function clientCommand(protocol: string, connectionName: string, port: number): ClientCommand {
  const host = '127.0.0.1';
  switch (protocol) {
    case 'postgres':
      return { program: 'psql', args: [`host=${host} port=${port} dbname=${connectionName}`] };
    case 'mysql':
      return { program: 'mysql', args: ['--protocol=TCP', `--host=${host}`, `--port=${port}`] };
    case 'ssh':
      // The local SSH server takes any user name and no secret; its host key is the user's own.
      return { program: 'ssh', args: ['-p', String(port), `tollgate@${host}`] };
    case 'http':
      return {
        program: 'curl',
        args: [],
        defaults: [`http://${host}:${port}/`],
        baseUrl: `http://${host}:${port}`,
      };
    case 'kubernetes':
      return {
        program: 'kubectl',
        args: [`--server=http://${host}:${port}`],
        defaults: ['get', 'namespaces'],
      };
    default:
      return { program: 'nc', args: [host, String(port)] };
  }
}

/**
 * The client's arguments with the caller's own after them (`tollgate connect NAME --exec -- ...`):
 * for curl a `/path` is a path on the listener (`-- -X POST /api/x`), and the default URL is left
 * out once the caller names one; for kubectl the caller's arguments are the command (`-- get pods`).
 */
export function clientArgs(command: ClientCommand, extraArgs: readonly string[] = []): string[] {
  const own = command.baseUrl
    ? extraArgs.map((arg) => (arg.startsWith('/') ? `${command.baseUrl}${arg}` : arg))
    : [...extraArgs];
  const named = command.baseUrl ? own.some((arg) => /^https?:\/\//i.test(arg)) : own.length > 0;
  return [...command.args, ...(named ? [] : (command.defaults ?? [])), ...own];
}

/** The command as a POSIX shell would need it typed (quoted where needed). */
export function shellLine(command: ClientCommand, extraArgs: readonly string[] = []): string {
  return [command.program, ...clientArgs(command, extraArgs)].map(shellQuote).join(' ');
}

export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  if (/^[^"$`\\!]*$/.test(word)) return `"${word}"`;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
