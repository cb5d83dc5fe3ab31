import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import {
  CatalogChanges,
  catalogWatch,
  columnMasks,
  mayChangeCatalog,
  readsMasked,
  runsCode,
  untracedStatement,
  type ColumnMask,
  type Masker,
} from '@tollgate/masking';
import {
  Capability,
  Command,
  COMMAND_NAMES,
  commonCapabilities,
  hasCapability,
  MariadbCapability,
  PROXY_CAPABILITIES,
  PROXY_MARIADB_CAPABILITIES,
} from '../capabilities';
import type { ColumnDefinition } from '../column-definition';
import { parseHandshakeResponse, serializeServerGreeting } from '../handshake';
import type { MysqlPacket } from '../packet-reader';
import { MysqlProtocolError } from '../protocol-error';
import { errPacket, okPacket, parseErrPacket, progressPacket } from '../response-packets';
import { evaluateKillId, killIdQuery, killQuery } from './kill-query';
import {
  ConnectionIds,
  readKillExpression,
  readKillStatement,
  type KillableSession,
  type KillExpression,
  type KillStatement,
} from './connection-ids';
import { charsetReadsBackslashes, readSessionSettings } from './session-reading';
import { classifyMysql, MysqlReading } from '../sql-classifier';
import { serverFlavor, splitStatements } from '../sql/statement-splitter';
import type { CommandGate, SqlCommand, StatementOutcome } from './command-gate';
import { PacketChannel } from './packet-channel';
import { PreparedStatements } from './prepared-statements';
import { relayResponse, type RelayResult, type ResponseShape } from './response-relay';
import { CatalogConnection } from './catalog-connection';
import { SessionLineage, withLineage } from './session-lineage';
import type { StatementLineage } from '../sql/lineage/lineage.types';
import { TargetConnectError } from './target-connect.error';
import { loginTarget, openTarget, type TargetConnection } from './target-connection';
import type { MysqlTargetSettings } from './target-settings';

export interface MysqlSessionOptions {
  readonly target: MysqlTargetSettings;
  readonly gate: CommandGate;
  readonly masker: Masker;
  readonly onStatement?: (outcome: StatementOutcome) => void;
  /** The target connection is up: its server thread id, for KILL QUERY from a side connection. */
  readonly onTarget?: (connectionId: number) => void;
  /**
   * An `exec` session: the client may send one COM_QUERY (any number of statements in it), then only
   * COM_QUIT. Anything else ends the session with an error, so a session authorized as `exec` cannot
   * be driven as an interactive one.
   */
  readonly exec?: boolean;
  /**
   * The connection ids of the engine's sessions (see ConnectionIds): this session's is reserved
   * there for `owner` (`wanted`, the id the gateway's listener greeted the client with, when free)
   * and is the one its greeting gives; a client's plain `KILL [QUERY] <id>` is answered from there
   * and never sent to the server. `session` names this session in what a KILL it sends records.
   * Without it the session has a registry of its own (no other session can be named).
   */
  readonly ids?: {
    readonly registry: ConnectionIds;
    readonly owner: string;
    readonly wanted?: number;
    readonly session?: string;
  };
  /** The session can be killed from outside (KILL from another session, the gateway's interrupt). */
  readonly onKillable?: (session: KillableSession) => void;
}

export interface MysqlSessionEnd {
  /** Why the session ended: `client quit`, `client closed`, `target closed`, or the error shown. */
  readonly reason: string;
}

/** ER_SPECIFIC_ACCESS_DENIED-like: a command policy refused (SQLSTATE 42000, as the issue asks). */
const DENIED = { code: 1142, sqlState: '42000' } as const;
/** ER_UNKNOWN_COM_ERROR: commands the proxy does not relay. */
const UNSUPPORTED = { code: 1047, sqlState: '08S01' } as const;
/**
 * A KILL anywhere but alone in a query (among other statements, or a prepared one executed, by SQL
 * EXECUTE or COM_STMT_EXECUTE): the server's thread ids are shared by everyone on the connection,
 * so such a KILL never reaches it.
 */
const KILL_ELSEWHERE = () =>
  errPacket(
    DENIED.code,
    DENIED.sqlState,
    'tollgate: KILL is answered only alone in its query (KILL [QUERY] <id>, the id a Tollgate session was greeted with or its CONNECTION_ID())',
  );

/** ER_NO_SUCH_THREAD: what the server says to a KILL of an id it does not know. */
const NO_SUCH_THREAD = { code: 1094, sqlState: 'HY000' } as const;
/** ER_SUBQUERIES_NOT_SUPPORTED: what the server says to a KILL whose id reads a table. */
const KILL_SUBQUERY = { code: 1970, sqlState: '42000' } as const;
/** SERVER_STATUS_AUTOCOMMIT, in the OK that answers a KILL. */
const STATUS_AUTOCOMMIT = 0x0002;
/** ER_UNKNOWN_STMT_HANDLER. */
const UNKNOWN_STATEMENT = { code: 1243, sqlState: 'HY000' } as const;
/** ER_NET_PACKETS_OUT_OF_ORDER-like for bytes that are not the protocol. */
const MALFORMED = { code: 1156, sqlState: '08S01' } as const;

/**
 * Runs one MySQL session between a client (a tunnel stream or a socket) and the target. The proxy
 * is the server to its client: it greets with the target's version, accepts whatever the client
 * answers (the client reached it on loopback or through an authorized tunnel: there is no secret to
 * check), and logs in to the target with the connection's credential. Then every command is decided
 * by policy before it is forwarded; a denied one is answered with an ERR packet (SQLSTATE 42000) and
 * the session goes on.
 */
export async function runMysqlSession(
  client: Duplex,
  options: MysqlSessionOptions,
): Promise<MysqlSessionEnd> {
  const clientChannel = new PacketChannel(client, 'the client');
  const ids = options.ids ?? { registry: new ConnectionIds(), owner: '' };
  const reserved = ids.registry.reserve(ids.owner, ids.wanted);
  try {
    return await serveSession(clientChannel, options, ids, reserved);
  } finally {
    reserved.release();
  }
}

type SessionIds = NonNullable<MysqlSessionOptions['ids']>;
type ReservedId = ReturnType<ConnectionIds['reserve']>;

async function serveSession(
  clientChannel: PacketChannel,
  options: MysqlSessionOptions,
  ids: SessionIds,
  reserved: ReservedId,
): Promise<MysqlSessionEnd> {
  let target: TargetConnection;
  let reading: MysqlReading;
  let database: string | undefined;
  let clientProgress = false;
  try {
    const greeted = await openTarget(options.target);
    const offered = commonCapabilities(greeted.greeting.capabilities, PROXY_CAPABILITIES);
    // A MariaDB target (no CLIENT_MYSQL): offer the extended capabilities the relay handles.
    const relayedMariadb = hasCapability(offered, Capability.LONG_PASSWORD)
      ? 0
      : (greeted.greeting.mariadbCapabilities & PROXY_MARIADB_CAPABILITIES) >>> 0;
    // Progress reports are the engine's own (a held command's message), never asked of the target.
    const offeredMariadb = hasCapability(offered, Capability.LONG_PASSWORD)
      ? 0
      : (relayedMariadb | MariadbCapability.PROGRESS) >>> 0;
    const nonce = Buffer.from(randomBytes(20).map((b) => (b % 94) + 33)); // printable, no NUL: some clients expect that
    clientChannel.sequence = 0;
    clientChannel.write(
      serializeServerGreeting({
        serverVersion: greeted.greeting.serverVersion,
        // Tollgate's id for the session, never the server's thread id (see ConnectionIds).
        connectionId: reserved.id,
        authData: nonce,
        capabilities:
          (offered | Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH) >>> 0,
        mariadbCapabilities: offeredMariadb,
        characterSet: greeted.greeting.characterSet,
        statusFlags: greeted.greeting.statusFlags,
        authPlugin: 'mysql_native_password',
      }),
    );
    let answer: MysqlPacket;
    try {
      answer = await clientChannel.next();
    } catch (error) {
      greeted.channel.destroy();
      throw error;
    }
    clientChannel.sequence = (answer.sequenceId + 1) & 0xff;
    const response = parseHandshakeResponse(answer.payload);
    if (response.sslRequest) {
      greeted.channel.destroy();
      throw new TargetConnectError(
        UNSUPPORTED.code,
        UNSUPPORTED.sqlState,
        'TLS was not offered: the client side of a Tollgate session is loopback or the tunnel',
      );
    }
    target = await loginTarget(greeted, options.target, {
      clientCapabilities: commonCapabilities(response.capabilities, offered),
      clientMariadbCapabilities: commonCapabilities(response.mariadbCapabilities, relayedMariadb),
      characterSet: response.characterSet,
      ...(response.database ? { database: response.database } : {}),
      attributes: response.attributes,
    });
    // The database the target session starts in: the connection's, else the one the client named
    // (as loginTarget chooses).
    database = options.target.database || response.database || undefined;
    clientProgress = hasCapability(
      commonCapabilities(response.mariadbCapabilities, offeredMariadb),
      MariadbCapability.PROGRESS,
    );
    reading = new MysqlReading();
    reading.server = serverFlavor(target.greeting.serverVersion);
    reading.learn(await readSessionSettings(target.channel));
    if (!charsetReadsBackslashes(response.characterSet)) {
      reading.backslashEscapes = false;
      reading.asciiOnly = true;
    }
    // Accepted whatever the client's plugin: the OK ends its authentication.
    clientChannel.write(okPacket({ statusFlags: target.greeting.statusFlags }));
  } catch (error) {
    return failClient(clientChannel, error);
  }
  options.onTarget?.(target.connectionId);
  // Under column rules, results are masked by lineage: what each output column is made from.
  // Sessions to the same server through this agent see each other's DDL; one that traces no
  // lineage itself still tells the others of the DDL it forwards.
  const watch = catalogWatch(`mysql://${options.target.host}:${options.target.port}`);
  const lineage = options.masker.masksColumns
    ? new SessionLineage(new CatalogConnection(options.target), database, watch)
    : undefined;
  const changes = lineage ? undefined : new CatalogChanges(watch);
  try {
    return await relayCommands(
      { channel: clientChannel, progress: clientProgress },
      target,
      reading,
      options,
      lineage,
      changes,
      ids,
      reserved,
    );
  } finally {
    lineage?.close();
    changes?.settled();
  }
}

function failClient(client: PacketChannel, error: unknown): MysqlSessionEnd {
  const [code, sqlState, message] =
    error instanceof TargetConnectError
      ? [error.code, error.sqlState, error.message]
      : error instanceof MysqlProtocolError
        ? [MALFORMED.code, MALFORMED.sqlState, `invalid protocol packet: ${error.message}`]
        : [MALFORMED.code, MALFORMED.sqlState, error instanceof Error ? error.message : String(error)];
  client.end(errPacket(code, sqlState, `tollgate: ${message}`));
  return { reason: message };
}

interface SessionState {
  readonly client: PacketChannel;
  /** The client reads MariaDB's progress reports: a held command's message reaches it as one. */
  readonly clientProgress: boolean;
  readonly target: TargetConnection;
  readonly options: MysqlSessionOptions;
  readonly statements: PreparedStatements;
  readonly reading: MysqlReading;
  /** Lineage of what the session runs, when column rules apply. */
  readonly lineage: SessionLineage | undefined;
  /** Without lineage: how the other sessions to the server hear of the DDL this one forwards. */
  readonly changes: CatalogChanges | undefined;
  queries: number;
  /** A command was forwarded and its reply is not complete yet. */
  inFlight: boolean;
  readonly ids: SessionIds;
  /** Why a KILL from another session stopped the command in flight, for its result. */
  cancelled: string | undefined;
  /** This session as a KILL reaches it (a KILL naming the session itself is the server's to do). */
  self: KillableSession | undefined;
}

async function relayCommands(
  { channel: client, progress: clientProgress }: { channel: PacketChannel; progress: boolean },
  target: TargetConnection,
  reading: MysqlReading,
  options: MysqlSessionOptions,
  lineage: SessionLineage | undefined,
  changes: CatalogChanges | undefined,
  ids: SessionIds,
  reserved: ReservedId,
): Promise<MysqlSessionEnd> {
  const state: SessionState = {
    client,
    clientProgress,
    target,
    options,
    statements: new PreparedStatements(),
    reading,
    lineage,
    changes,
    queries: 0,
    inFlight: false,
    ids,
    cancelled: undefined,
    self: undefined,
  };
  // A KILL from another session of the same owner, naming this session's id.
  const killable: KillableSession = {
    killQuery: (reason) => {
      if (!state.inFlight) return;
      state.cancelled = reason;
      void killQuery(options.target, target.connectionId).catch(() => undefined);
    },
    // The client's side goes: the statement in flight is stopped and both legs close (onClientGone).
    killConnection: (reason) => {
      state.cancelled = reason;
      client.destroy();
    },
  };
  state.self = killable;
  // Its server thread id names it too (CONNECTION_ID(), which clients and test suites KILL).
  reserved.attach(killable, target.connectionId);
  options.onKillable?.(killable);
  // A client that goes away (or a session ended by the gateway) must not leave its statement
  // running: the server notices a closed connection only when it next writes to it.
  const onClientGone = () => {
    if (!state.inFlight) return target.channel.destroy();
    void killQuery(options.target, target.connectionId)
      .catch(() => undefined)
      .finally(() => target.channel.destroy());
  };
  client.stream.once('close', onClientGone);
  client.stream.once('error', onClientGone);
  try {
    for (;;) {
      let command: MysqlPacket;
      try {
        command = await client.next();
      } catch (error) {
        if (error instanceof MysqlProtocolError) throw error;
        return { reason: 'client closed' };
      }
      // Each command starts a new sequence on both legs; replies follow the command's last part.
      client.sequence = command.parts & 0xff;
      target.channel.sequence = 0;
      const end = await handleCommand(state, command.payload);
      if (end) return end;
    }
  } catch (error) {
    if (error instanceof MysqlProtocolError) {
      target.channel.destroy();
      return failClient(client, error);
    }
    client.destroy();
    target.channel.destroy();
    return { reason: error instanceof Error ? error.message : String(error) };
  } finally {
    client.stream.off('close', onClientGone);
    client.stream.off('error', onClientGone);
    if (!state.inFlight) target.channel.destroy();
  }
}

/** Handles one command; returns the session's end when the command ends it. */
async function handleCommand(state: SessionState, payload: Buffer): Promise<MysqlSessionEnd | undefined> {
  const { client, target, options } = state;
  const code = payload[0];
  if (code === undefined) throw new MysqlProtocolError('malformed', 'an empty command packet');
  const body = payload.subarray(1);
  if (options.exec && !(code === Command.QUIT || (code === Command.QUERY && state.queries === 0))) {
    client.end(
      errPacket(
        UNSUPPORTED.code,
        UNSUPPORTED.sqlState,
        'tollgate: an exec session runs one query, then ends',
      ),
    );
    return { reason: `${COMMAND_NAMES[code] ?? 'a command'} in an exec session` };
  }
  switch (code) {
    case Command.QUIT:
      target.channel.write(payload);
      client.end();
      return { reason: 'client quit' };
    case Command.PING:
      return forward(state, payload, 'single');
    case Command.QUERY: {
      state.queries++;
      const text = sqlText(body);
      const kill = killIn(text, state.reading);
      if (kill === 'elsewhere') {
        // The server's thread ids are shared by everyone on the connection: a KILL never reaches it.
        state.client.write(KILL_ELSEWHERE());
        return undefined;
      }
      if (kill && 'expression' in kill) return killByExpression(state, text, kill);
      if (kill) {
        await killSession(state, kill, text);
        return undefined;
      }
      return gated(state, { text, via: 'query' }, (traced) =>
        relay(state, payload, 'query', text, undefined, traced),
      );
    }
    case Command.INIT_DB: {
      const schema = body.toString('utf8');
      const text = `USE \`${schema.replaceAll('`', '``')}\``;
      return gated(state, { text, via: 'init-db' }, (traced) =>
        relay(state, payload, 'single', text, undefined, traced),
      );
    }
    case Command.FIELD_LIST: {
      const table = body.subarray(0, Math.max(body.indexOf(0), 0)).toString('utf8');
      const text = `SHOW COLUMNS FROM \`${table.replaceAll('`', '``')}\``;
      return gated(state, { text, via: 'field-list' }, () => relay(state, payload, 'field-list', text));
    }
    case Command.STATISTICS:
      return gated(state, { text: 'SHOW STATUS', via: 'statistics' }, () =>
        relay(state, payload, 'statistics', 'COM_STATISTICS'),
      );
    case Command.STMT_PREPARE: {
      const text = sqlText(body);
      const database = state.lineage?.database;
      return gated(state, { text, via: 'prepare' }, async (traced) => {
        const result = await relay(state, payload, 'prepare', text, undefined, traced);
        if (result.prepared)
          state.statements.add(result.prepared.id, text, result.prepared.columns, database);
        return result;
      });
    }
    case Command.STMT_EXECUTE: {
      const statement = state.statements.get(readStatementId(body, state));
      if (!statement) return refuseUnknownStatement(client);
      // Decided again at each execution (the policy may have changed since the PREPARE), with the
      // lineage of its text as read at PREPARE (cached: no parse per execution).
      return gated(
        state,
        { text: statement.text, via: 'execute' },
        async (traced) => {
          statement.lineage = traced?.[0];
          const result = await relay(
            state,
            withStatementId(payload, statement.id),
            'execute',
            statement.text,
            statement,
            traced,
          );
          if (result.columns) statement.columns = result.columns;
          return result;
        },
        statement.database,
      );
    }
    case Command.STMT_FETCH: {
      const statement = state.statements.get(readStatementId(body, state));
      if (!statement) return refuseUnknownStatement(client);
      const traced = state.lineage ? [statement.lineage ?? untracedFetch] : undefined;
      await relay(state, withStatementId(payload, statement.id), 'fetch', statement.text, statement, traced);
      return undefined;
    }
    case Command.STMT_SEND_LONG_DATA: {
      // No reply either way: data for an unknown statement is dropped, as the server would drop it.
      const statement = state.statements.get(readStatementId(body, state));
      if (statement) target.channel.write(withStatementId(payload, statement.id));
      return undefined;
    }
    case Command.STMT_CLOSE: {
      const id = readStatementId(body, state);
      if (state.statements.get(id)) target.channel.write(payload);
      state.statements.delete(id);
      return undefined;
    }
    case Command.STMT_RESET: {
      const statement = state.statements.get(readStatementId(body, state));
      if (!statement) return refuseUnknownStatement(client);
      return forward(state, withStatementId(payload, statement.id), 'single');
    }
    case Command.RESET_CONNECTION:
      // It acts on the server (the open transaction rolled back, temporary tables, locks and
      // variables dropped): decided and recorded like any command, as the ROLLBACK it does first.
      return gated(
        state,
        { text: 'COM_RESET_CONNECTION', via: 'reset-connection' },
        async () => {
          const result = await relay(state, payload, 'single', 'COM_RESET_CONNECTION');
          state.statements.clear();
          state.lineage?.reset();
          // The server's session settings are back to their defaults: read them again.
          state.reading.learn(await readSessionSettings(target.channel));
          return result;
        },
        undefined,
        'ROLLBACK',
      );
    case Command.SET_OPTION:
      return forward(state, payload, 'single');
    case Command.CHANGE_USER:
      client.write(
        errPacket(
          DENIED.code,
          DENIED.sqlState,
          'tollgate: COM_CHANGE_USER is refused: a Tollgate session keeps the identity it was opened with',
        ),
      );
      return undefined;
    default:
      client.write(
        errPacket(
          UNSUPPORTED.code,
          UNSUPPORTED.sqlState,
          `tollgate: ${COMMAND_NAMES[code] ?? `command 0x${code.toString(16)}`} is not relayed by Tollgate`,
        ),
      );
      return undefined;
  }
}

/**
 * SQL text as the classifier reads it. Bytes that are not UTF-8 would be read one way by the server
 * (in the connection's character set) and another by the parser: they decode to U+FFFD, which the
 * classifier refuses, so such a command is unparsed.
 */
function sqlText(body: Buffer): string {
  return body.toString('utf8');
}

/**
 * The query's KILL: a plain `KILL [QUERY|CONNECTION] <id>` alone (comments aside), `elsewhere` for
 * a KILL among other statements or of another form, undefined for none (or text the splitter
 * refuses, which the policy decides as unparsed).
 */
function killIn(
  text: string,
  reading: MysqlReading,
): KillStatement | KillExpression | 'elsewhere' | undefined {
  const split = splitStatements(text, reading);
  if (!split.ok) return undefined;
  const [only] = split.statements;
  const alone =
    split.statements.length === 1 && only !== undefined
      ? (readKillStatement(only) ?? readKillExpression(only))
      : undefined;
  if (alone) return alone;
  return split.statements.some((statement) => /^\s*KILL\b/i.test(statement)) ? 'elsewhere' : undefined;
}

/**
 * A client's `KILL [QUERY|CONNECTION] <id>` (the mariadb CLI's Ctrl+C): the id is one Tollgate gave
 * a session of the same owner or that session's server thread id, or it is unknown, as the server
 * says of an id it does not know. Another session's KILL never reaches the server: its thread ids
 * are shared by every session on the connection. A KILL of the session itself goes to the server
 * with its own thread id, which answers it as it answers any session killing itself.
 */
async function killSession(state: SessionState, kill: KillStatement, text: string): Promise<RelayResult> {
  const session = state.ids.registry.find(kill.id, state.ids.owner);
  if (!session) {
    const message = `Unknown thread id: ${kill.id}`;
    state.client.write(errPacket(NO_SUCH_THREAD.code, NO_SUCH_THREAD.sqlState, message));
    return answeredHere(state, text, {
      rows: 0,
      bytes: 0,
      masked: new Set(),
      error: `${NO_SUCH_THREAD.code} (${NO_SUCH_THREAD.sqlState}): ${message}`,
    });
  }
  if (session === state.self) {
    const own = `KILL ${kill.kind === 'query' ? 'QUERY ' : ''}${state.target.connectionId}`;
    return relay(state, Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(own)]), 'query', text);
  }
  const from = state.ids.session ? `from session ${state.ids.session}` : 'from another session';
  if (kill.kind === 'query') session.killQuery(`KILL QUERY ${from}`);
  else session.killConnection(`KILL CONNECTION ${from}`);
  state.client.write(okPacket({ statusFlags: STATUS_AUTOCOMMIT }));
  return answeredHere(state, text, { rows: 0, bytes: 0, masked: new Set() });
}

/**
 * A KILL answered by the engine itself (another session of the owner stopped on a side connection,
 * or an unknown id) is recorded in this session too, as a relayed one is: the session that sent it
 * says so, not only the one it stopped.
 */
function answeredHere(state: SessionState, text: string, result: RelayResult): RelayResult {
  state.options.onStatement?.({
    text,
    rows: 0,
    bytes: 0,
    durationMs: 0,
    ...(result.error ? { error: result.error } : {}),
    masked: [],
  });
  return result;
}

/**
 * A KILL whose id is an expression (`KILL QUERY @id`, `KILL (('x' IN (SELECT 1)) MOD 44)`): the
 * expression is decided by policy as the SELECT that reads it, evaluated on the session's own
 * connection as the server would (an expression reading a table is refused as the server refuses
 * it), and the id it gives is killed as a plain one. A stored function in it is called, where the
 * server would refuse the KILL: the same call as a SELECT of it would make. In a session under
 * column rules it is refused: the error naming an unknown id would show the value, masked or not.
 */
async function killByExpression(state: SessionState, text: string, kill: KillExpression): Promise<undefined> {
  if (state.lineage) {
    state.client.write(
      errPacket(
        DENIED.code,
        DENIED.sqlState,
        'tollgate: under column rules a KILL names its id as a number (KILL [QUERY] <id>), not an expression',
      ),
    );
    return undefined;
  }
  return gated(
    state,
    { text, via: 'query' },
    async () => {
      // The server refuses an id read from a table (its words; a stored function is not told apart).
      const read = classifyMysql(killIdQuery(kill.expression), state.reading);
      if (read.ok && read.statements.some((statement) => (statement.tables ?? []).length > 0)) {
        const message = 'KILL does not support subqueries or stored functions';
        state.client.write(errPacket(KILL_SUBQUERY.code, KILL_SUBQUERY.sqlState, message));
        return {
          rows: 0,
          bytes: 0,
          masked: new Set(),
          error: `${KILL_SUBQUERY.code} (${KILL_SUBQUERY.sqlState}): ${message}`,
        };
      }
      const evaluated = await evaluateKillId(state.target.channel, kill.expression);
      if ('err' in evaluated) {
        state.client.write(evaluated.err);
        const error = parseErrPacket(evaluated.err);
        return {
          rows: 0,
          bytes: 0,
          masked: new Set(),
          error: `${error.code} (${error.sqlState}): ${error.message}`,
        };
      }
      return killSession(state, { kind: kill.kind, id: Number(evaluated.id) }, text);
    },
    undefined,
    killIdQuery(kill.expression),
  );
}

function refuseUnknownStatement(client: PacketChannel): undefined {
  client.write(
    errPacket(UNKNOWN_STATEMENT.code, UNKNOWN_STATEMENT.sqlState, 'Unknown prepared statement handler given'),
  );
  return undefined;
}

/** MariaDB lets COM_STMT_* name the statement prepared last with id 0xFFFFFFFF. */
function readStatementId(body: Buffer, state: SessionState): number {
  if (body.length < 4)
    throw new MysqlProtocolError('malformed', 'a statement command without a statement id');
  const id = body.readUInt32LE(0);
  return id === 0xffffffff ? (state.statements.last ?? id) : id;
}

function withStatementId(payload: Buffer, id: number): Buffer {
  if (payload.readUInt32LE(1) === id) return payload;
  const copy = Buffer.from(payload);
  copy.writeUInt32LE(id, 1);
  return copy;
}

/**
 * Decides a command by policy, lineage included when the session traces it (writes of masked
 * values, `on_derived: deny`, `predicates: deny`), and runs it when allowed with that lineage.
 */
async function gated(
  state: SessionState,
  command: Omit<SqlCommand, 'classification'>,
  run: (traced: readonly StatementLineage[] | undefined) => Promise<RelayResult>,
  database?: string,
  /** The text the policy reads in place of the command's (a KILL's id expression as its SELECT). */
  readAs: string = command.text,
): Promise<undefined> {
  let classification = classifyMysql(readAs, state.reading);
  // Preparing a KILL is the server's business (it runs nothing); running one is refused.
  if (
    command.via !== 'prepare' &&
    classification.ok &&
    classification.statements.some((s) => s.type === 'KILL' && s.nestedIn !== 'PREPARE')
  ) {
    state.client.write(KILL_ELSEWHERE());
    return undefined;
  }
  const traced =
    state.lineage && classification.ok
      ? await state.lineage.analyze(readAs, state.reading, database ?? state.lineage.database)
      : undefined;
  if (traced) classification = withLineage(classification, traced);
  const verdict = await state.options.gate.decide({ ...command, classification }, (message) => {
    // A held command (approval): clients that read progress reports show the message while they
    // wait; the reply then follows in the same sequence. Others see the reply when it comes.
    if (state.clientProgress) state.client.write(progressPacket(`tollgate: ${message}`));
  });
  if (!verdict.allow) {
    state.client.write(errPacket(DENIED.code, DENIED.sqlState, `tollgate: ${verdict.message}`));
    return undefined;
  }
  const lineage = command.via === 'prepare' ? undefined : state.lineage;
  // Code it runs (a procedure, EXECUTE IMMEDIATE, SQL the parser could not read, where policy
  // allows them) may change the catalog unseen, as DDL does.
  lineage?.forwarding(
    traced ?? [],
    !classification.ok || classification.statements.some((facts) => runsCode(facts.opaque)),
  );
  const changes = command.via === 'prepare' ? undefined : state.changes;
  const changing =
    changes !== undefined && (!classification.ok || classification.statements.some(mayChangeCatalog));
  if (changing) changes.changing();
  // SQL the engine could not read, which policy let run: nothing of it is known, so its rows are
  // masked whole and its errors (which may quote any value it read) withheld, as an untraced
  // statement's.
  const result = await run(traced ?? (state.lineage ? [UNREAD_COMMAND] : undefined));
  lineage?.forwarded(traced ?? [], result.answered ?? (result.error ? 0 : (traced?.length ?? 0)));
  // MySQL commits DDL at once: answered, it is what every session's catalog connection reads.
  if (changing) changes.settled();
  if (classification.ok) state.reading.after(classification.statements);
  // SQL the engine could not read, or code policy let run, may have set sql_mode or the character
  // set (`SET STATEMENT ... FOR SET sql_mode = 'ANSI_QUOTES'`) where no classification saw it.
  if (!classification.ok || classification.statements.some((facts) => runsCode(facts.opaque)))
    state.reading.stale = true;
  // sql_mode or the character set may have changed: how the server reads text is read again.
  if (state.reading.stale) state.reading.learn(await readSessionSettings(state.target.channel));
  return undefined;
}

/** A command the engine could not read (policy let it run): what it reads and returns is not known. */
const UNREAD_COMMAND: StatementLineage = untracedStatement('SQL the engine could not read');

/** A cursor whose EXECUTE was not traced: its rows are of unknown origin. */
const untracedFetch: StatementLineage = {
  outputs: { anyColumn: [{ untraced: 'cursor' }] },
  written: [],
  filtered: [],
};

/**
 * The lineage masks of each result of a command: the `index`th result is its `index`th statement's;
 * after a statement whose rows are of unknown shape (CALL: any number of result sets), every later
 * result is masked as that statement's.
 */
function masksOf(
  state: SessionState,
  traced: readonly StatementLineage[] | undefined,
): ((index: number, count: number) => readonly ColumnMask[]) | undefined {
  if (!state.lineage) return undefined;
  let unknownShape: StatementLineage | undefined;
  return (index, count) => {
    const statement = unknownShape ?? traced?.[index];
    if (statement?.outputs && !statement.outputs.columns) unknownShape = statement;
    // Lineage made before a catalog change that came since (DDL through another session) masks whole.
    const holds = state.lineage?.holds(statement) ?? false;
    return columnMasks(holds ? statement?.outputs : undefined, count, state.options.masker);
  };
}

/**
 * Whether the server's words in an ERR answering the `index`th statement are withheld: under column
 * rules, when that statement reads masked or untraced values (past the traced statements, after a
 * CALL's result sets, it is not known which statement answers: withheld).
 */
function withholdsOf(
  state: SessionState,
  traced: readonly StatementLineage[] | undefined,
): ((index: number) => boolean) | undefined {
  if (!state.lineage || !traced) return undefined;
  return (index) => {
    // A statement of unknown shape before (CALL) may answer with any number of results.
    const unknownShape = traced.slice(0, index).some((s) => s.outputs && !s.outputs.columns);
    const statement = traced[index];
    return (
      unknownShape ||
      readsMasked(state.lineage?.holds(statement) ? statement : undefined, state.options.masker)
    );
  };
}

async function forward(
  state: SessionState,
  payload: Buffer,
  shape: ResponseShape,
  text?: string,
): Promise<undefined> {
  await relay(state, payload, shape, text);
  return undefined;
}

async function relay(
  state: SessionState,
  payload: Buffer,
  shape: ResponseShape,
  text?: string,
  statement?: { columns?: readonly ColumnDefinition[] },
  traced?: readonly StatementLineage[],
): Promise<RelayResult> {
  const masksFor = masksOf(state, traced);
  const withholdsError = withholdsOf(state, traced);
  const started = performance.now();
  state.target.channel.write(payload);
  state.inFlight = true;
  const result = await relayResponse({
    target: state.target.channel,
    client: state.client,
    shape,
    masker: state.options.masker,
    extendedMetadata: hasCapability(state.target.mariadbCapabilities, MariadbCapability.EXTENDED_METADATA),
    ...(statement?.columns ? { columns: statement.columns } : {}),
    ...(masksFor ? { masksFor } : {}),
    ...(withholdsError ? { withholdsError } : {}),
  });
  state.inFlight = false;
  const cancelled = state.cancelled;
  state.cancelled = undefined;
  if (text !== undefined) {
    // A statement the server failed after a KILL from another session, most likely because of it.
    const error =
      result.error && cancelled ? `cancelled (${cancelled}): the target said: ${result.error}` : result.error;
    state.options.onStatement?.({
      text,
      rows: result.rows,
      bytes: result.bytes,
      durationMs: performance.now() - started,
      ...(error ? { error } : {}),
      masked: [...result.masked],
    });
  }
  return result;
}
