import type { BackendMessage } from '../backend-messages';
import { serializeFrontendMessage } from '../frontend-message.serializer';
import { SocketReader } from './socket-reader';
import type { TargetConnection } from './target-connection';

/** Runs one simple query on a connection of our own and returns its rows as text. */
export async function simpleQuery(connection: TargetConnection, sql: string): Promise<(string | null)[][]> {
  const reader = new SocketReader<BackendMessage>(
    connection.socket,
    (chunk, emit) => connection.parser.parse(chunk, emit),
    'the target',
  );
  connection.socket.write(serializeFrontendMessage({ name: 'query', text: sql }));
  const rows: (string | null)[][] = [];
  let error: string | undefined;
  try {
    for (;;) {
      const { message } = await reader.next();
      if (message.name === 'dataRow')
        rows.push(message.values.map((v) => (v === null ? null : v.toString('utf8'))));
      else if (message.name === 'errorResponse') error = message.fields['M'] ?? 'query failed';
      else if (message.name === 'readyForQuery') break;
    }
  } finally {
    reader.detach();
  }
  if (error !== undefined) throw new Error(error);
  return rows;
}
