/** A native client invocation that reaches a connection through `tollgate connect`'s listener. */
export interface ClientCommand {
  readonly program: string;
  readonly args: readonly string[];
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
      return { program: 'curl', args: [`http://${host}:${port}/`] };
    case 'kubernetes':
      return { program: 'kubectl', args: [`--server=http://${host}:${port}`, 'get', 'namespaces'] };
    default:
      return { program: 'nc', args: [host, String(port)] };
  }
}

/** The command as a POSIX shell would need it typed (quoted where needed). */
export function shellLine(command: ClientCommand, extraArgs: readonly string[] = []): string {
  return [command.program, ...command.args, ...extraArgs].map(shellQuote).join(' ');
}

export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  if (/^[^"$`\\!]*$/.test(word)) return `"${word}"`;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
