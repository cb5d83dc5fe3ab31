import type { Duplex } from 'node:stream';
import {
  CatalogChanges,
  catalogWatch,
  changesMasked,
  mayChangeCatalog,
  readsMasked,
  runsCode,
  untracedStatement,
  type Masker,
} from '@tollgate/masking';
import type { FieldDescription } from '../backend-messages';
import { BackendMessageParser, parseBackendFrame } from '../backend-message.parser';
import {
  fatalErrorResponse,
  noticeResponse,
  serializeBackendMessage,
  serializeDataRow,
} from '../backend-message.serializer';
import { FrontendMessageParser } from '../frontend-message.parser';
import { serializeFrontendMessage } from '../frontend-message.serializer';
import type { FrontendMessage, StartupPacket } from '../frontend-messages';
import type { TaggedFrame } from '../frame-reader';
import { BackendCode } from '../message-codes';
import { PostgresProtocolError } from '../protocol-error';
import {
  classifySql,
  loadSqlClassifier,
  type SqlClassification,
  type SqlStatementFacts,
} from '../sql-classifier';
import { sendCancelRequest, type CancelRegistry, type StatementInterrupts } from './cancel-registry';
import { CatalogConnection } from './catalog-connection';
import { ColumnCatalog } from './column-catalog';
import { DEFAULT_COPY_FORMAT } from './copy-row';
import type { CommandGate, SqlCommand, StatementOutcome } from './command-gate';
import { rowsOfCommandTag } from './command-tag';
import { OrderedPump } from './ordered-pump';
import { SqlPreparedStatements } from './prepared-statements';
import { columnMasks, maskCopyRow, maskRow, type ColumnMask } from './row-masking';
import { SessionLineage, withLineage } from './session-lineage';
import { BinaryCopyMasker } from './copy-binary';
import { withheldFields } from './withheld-messages';
import type { CopyFormat, StatementLineage } from '../sql/lineage/lineage.types';
import { SocketReader } from './socket-reader';
import { embedsAscii, SqlReadingState } from './sql-reading';
import { fastPathCallText } from './fast-path-call';
import { readStartupParameters } from './startup-parameters';
import { TargetConnectError } from './target-connect.error';
import { connectTarget, type TargetConnection } from './target-connection';
import type { PostgresTargetSettings } from './target-settings';

export interface PostgresSessionOptions {
  readonly target: PostgresTargetSettings;
  readonly gate: CommandGate;
  readonly masker: Masker;
  readonly cancels: CancelRegistry;
  readonly onStatement?: (outcome: StatementOutcome) => void;
  /**
   * An `exec` session: the client may send one simple Query (any number of statements in it, and
   * the COPY data the server asks for), then only Terminate. Anything else ends the session with a
   * FATAL error, so a session authorized as `exec` cannot be driven as an interactive one.
   */
  readonly exec?: boolean;
  /**
   * Ends the session from outside (kill, revoked token, expired grant, policy change, shutdown):
   * nothing more the client sent reaches the target, a statement still running there is cancelled
   * (CancelRequest with the backend's key) and its outcome recorded, then the target connection
   * closes. The signal's reason (a string) is recorded with the interrupted statements.
   */
  readonly signal?: AbortSignal;
  /**
   * A client's cancel that reached the session another way than its CancelRegistry key (through
   * the gateway's listener): the statement in flight is cancelled at the target with the backend's
   * key and its result records the reason; the session goes on.
   */
  readonly interrupts?: StatementInterrupts;
}

/** How long an ending session waits for the target to confirm a cancel before closing anyway. */
export const CANCEL_CONFIRM_TIMEOUT_MS = 3_000;

export interface PostgresSessionEnd {
  /** Why the session ended: `client closed`, `target closed`, or the error shown to the client. */
  readonly reason: string;
}

type ClientItem = { message: StartupPacket | FrontendMessage; frame: Buffer };
/** A server frame, decoded only when the relay has to look inside (most DataRows never are). */
type ServerItem = TaggedFrame;

interface PendingStatement {
  readonly kind: 'query' | 'execute';
  readonly text: string;
  readonly started: number;
  /** Rows of the statements completed so far (from their command tags when they carry a count). */
  rows: number;
  /** Rows seen (DataRow, COPY data) since the last statement completed. */
  counted: number;
  bytes: number;
  error?: string;
  readonly masked: Set<string>;
  /** Lineage of each statement it runs (when the session traces lineage). */
  readonly lineage: readonly StatementLineage[] | undefined;
  /** Which of its statements the server is answering (one CommandComplete each). */
  index: number;
  /** The current result's row description and column masks, once known. */
  fields?: readonly FieldDescription[];
  masks?: ColumnMask[];
  /** Whether the current result's rows pass unchanged (see rowsPassUnchanged), once worked out. */
  clearRows?: boolean;
  /** Why a cancel was sent while it ran (a client's CancelRequest), for its result. */
  cancelled?: string;
}

/** What the audit records for a statement the session's end interrupted. */
function interrupted(reason: string, outcome: string): string {
  return `interrupted (${reason}): ${outcome}`;
}

/**
 * Relays one PostgreSQL session between a client (any Duplex: a tunnel stream or a socket) and the
 * target. The client authenticates to nothing here; the agent authenticates to the target with the
 * connection's credentials. Every statement (simple query, each Parse) is classified and decided
 * before it is forwarded; denied ones never reach the target as written: the target is asked to
 * raise the denial itself, so the error arrives in order and a transaction block fails as it would.
 */
export async function runPostgresSession(
  client: Duplex,
  options: PostgresSessionOptions,
): Promise<PostgresSessionEnd> {
  // Ended before the relay starts: the client's side is cut (the relay itself cancels and records).
  const signal = options.signal;
  const abortStartup = () => client.destroy(new Error(String(signal?.reason)));
  signal?.addEventListener('abort', abortStartup, { once: true });
  const relaying = () => signal?.removeEventListener('abort', abortStartup);
  try {
    return await startSession(client, options, relaying);
  } finally {
    relaying();
  }
}

async function startSession(
  client: Duplex,
  options: PostgresSessionOptions,
  relaying: () => void,
): Promise<PostgresSessionEnd> {
  await loadSqlClassifier();
  const clientParser = new FrontendMessageParser();
  const reader = new SocketReader<StartupPacket | FrontendMessage>(
    client,
    (chunk, emit) => clientParser.parse(chunk, emit),
    'the client',
  );

  let startup: Extract<StartupPacket, { name: 'startupMessage' }> | undefined;
  try {
    while (!startup) {
      const { message } = await reader.next();
      if (message.name === 'sslRequest' || message.name === 'gssEncRequest') {
        // The client side of the tunnel is loopback to `tollgate connect`; TLS runs between agent and target.
        client.write(Buffer.from('N'));
        reader.poke();
      } else if (message.name === 'cancelRequest') {
        options.cancels.cancel(message.processId, message.secretKey);
        client.end();
        return { reason: 'cancel request' };
      } else if (message.name === 'startupMessage') {
        startup = message;
      } else {
        throw new PostgresProtocolError('malformed', `unexpected ${message.name} before start-up`);
      }
    }
  } catch (error) {
    return failClient(client, error);
  }

  let target: TargetConnection;
  try {
    const request = readStartupParameters(startup.parameters);
    // Settings beyond presentation are SETs by other means: decided (and recorded) like one.
    if (request.command) {
      const verdict = await options.gate.decide({ ...request.command, via: 'startup' }, () => undefined);
      if (!verdict.allow)
        throw new TargetConnectError('42501', `start-up parameters refused: ${verdict.message}`);
    }
    target = await connectTarget(options.target, Object.fromEntries(request.settings));
  } catch (error) {
    return failClient(client, error);
  }
  const leftovers = reader.detach();
  relaying();
  return relay(client, clientParser, leftovers, target, options);
}

function failClient(client: Duplex, error: unknown): PostgresSessionEnd {
  const [code, message] =
    error instanceof TargetConnectError
      ? [error.sqlState, error.message]
      : error instanceof PostgresProtocolError
        ? ['08P01', `invalid protocol message: ${error.message}`]
        : ['08006', error instanceof Error ? error.message : String(error)];
  if (client.writable) client.end(fatalErrorResponse(code, message));
  return { reason: message };
}

function relay(
  client: Duplex,
  clientParser: FrontendMessageParser,
  leftovers: ClientItem[],
  target: TargetConnection,
  options: PostgresSessionOptions,
): Promise<PostgresSessionEnd> {
  const server = target.socket;
  /** A client's cancel (its CancelRequest with the key it was given, or through the gateway). */
  let interruptStatement: (reason: string) => void = () => undefined;
  const fakeKey = options.cancels.register((reason) => interruptStatement(reason));
  options.interrupts?.listen((reason) => interruptStatement(reason));
  const side = new CatalogConnection(options.target);
  const catalog = new ColumnCatalog(side);
  // Under column rules, results are masked by lineage: what each output column is made from.
  // Sessions to the same database through this agent see each other's catalog changes; one that
  // traces no lineage itself still tells the others of those it forwards.
  const watch = catalogWatch(
    `postgres://${options.target.host}:${options.target.port}/${options.target.database}`,
  );
  const lineage = options.masker.masksColumns ? new SessionLineage(side, watch) : undefined;
  const changes = lineage ? undefined : new CatalogChanges(watch);

  const backend = { host: options.target.host, port: options.target.port, ...target.backendKey };
  return new Promise<PostgresSessionEnd>((resolve) => {
    let ended = false;
    /** Why the session is being ended from outside, while the target confirms a cancel. */
    let aborting: string | undefined;
    let cancelSent = false;
    let cancelWait: NodeJS.Timeout | undefined;
    const cancelAtTarget = () => {
      if (cancelSent) return;
      cancelSent = true;
      void sendCancelRequest(backend);
    };
    const end = (reason: string, toClient?: Buffer) => {
      if (ended) return;
      ended = true;
      clearTimeout(cancelWait);
      flushToClient();
      clientPump.stop();
      serverPump.stop();
      // Statements still running at the target when the session ends are cancelled there, and
      // recorded as interrupted (a target that closed took them with it).
      const unfinished = pending.splice(0);
      if (unfinished.length > 0 && reason !== 'target closed') cancelAtTarget();
      for (const statement of unfinished) {
        statement.error = interrupted(
          aborting ?? reason,
          cancelSent
            ? 'cancelled at the target, which did not confirm it'
            : 'the target closed the connection',
        );
        complete(statement);
      }
      fakeKey.release();
      options.interrupts?.listen(undefined);
      side.close();
      lineage?.close();
      changes?.settled();
      if (toClient && client.writable) client.end(toClient);
      else client.end();
      if (unfinished.length > 0) server.destroy();
      else {
        server.end();
        setTimeout(() => server.destroy(), 1000).unref();
      }
      resolve({ reason });
    };
    interruptStatement = (reason: string) => {
      // Nothing in flight: nothing to cancel (the backend is idle, as a cancel would find it).
      if (ended || aborting !== undefined || pending.length === 0) return;
      for (const statement of pending) statement.cancelled ??= reason;
      void sendCancelRequest(backend);
    };
    /** Ends the session from outside: see PostgresSessionOptions.signal. */
    const abortSession = (reason: string) => {
      if (ended || aborting !== undefined) return;
      aborting = reason;
      clientPump.stop();
      if (pending.length === 0) return end(reason);
      // The target answers the cancel with an error and ReadyForQuery: the statements' outcomes
      // are recorded as they arrive (see readyForQuery), then the session ends.
      cancelAtTarget();
      cancelWait = setTimeout(() => end(reason), CANCEL_CONFIRM_TIMEOUT_MS);
    };

    // ---- client -> server -------------------------------------------------------------------
    /** The text of the unnamed prepared statement (named ones are tracked with SQL's, in `prepared`). */
    let unnamedText = '';
    /**
     * Prepared statements whose Parse was decided and recorded but not yet bound: that decision
     * covers the first portal bound from it (the usual Parse/Bind/Execute of one query). Any later
     * portal of the statement is decided and recorded again before it runs.
     */
    const decidedParses = new Set<string>();
    /**
     * Portals by name: the statement text, and whether a durable decision lets them run. (What each
     * returns is the lineage's: SQL cursors share the namespace, see SessionLineage.portal.)
     */
    const portals = new Map<string, { text: string; allowed: boolean }>();
    const pending: PendingStatement[] = [];
    const prepared = new SqlPreparedStatements();
    const reading = new SqlReadingState(target.serverParameters);
    /** A Query, Sync or FunctionCall is about to be sent: the server answers it with ReadyForQuery. */
    const syncPointSent = () => {
      reading.syncPointSent();
      lineage?.syncPointSent();
    };
    /** Extended protocol: a denied message puts the batch in error mode until Sync, as the server would. */
    let denied: { message: string; injected: boolean } | undefined;
    const expectedDenials: string[] = [];
    let swallowCompletions = 0;
    /** Where an exec session stands: before its query, running it (copy-in: the server wants data), done. */
    let exec: 'waiting' | 'running' | 'copy-in' | 'done' | undefined = options.exec ? 'waiting' : undefined;

    let waitingForServer = false;
    const toServer = (frame: Buffer) => {
      // A command decided while the session was being ended never reaches the target.
      if (aborting !== undefined || ended) return;
      if (!server.write(frame) && !waitingForServer) {
        waitingForServer = true;
        clientPump.pause('server-drain');
        server.once('drain', () => {
          waitingForServer = false;
          clientPump.release('server-drain');
        });
      }
    };
    const notify = (text: string) => toClient(noticeResponse(text));
    const injectDenial = (message: string, how: 'query' | 'extended') => {
      const sql = denialStatement(message);
      expectedDenials.push(denialText(message));
      if (how === 'query') {
        toServer(serializeFrontendMessage({ name: 'query', text: sql }));
        return;
      }
      swallowCompletions++;
      toServer(serializeFrontendMessage({ name: 'parse', statement: '', text: sql, parameterTypeIds: [] }));
      toServer(
        serializeFrontendMessage({
          name: 'bind',
          portal: '',
          statement: '',
          parameterFormats: [],
          parameters: [],
          resultFormats: [],
        }),
      );
      toServer(serializeFrontendMessage({ name: 'execute', portal: '', maxRows: 0 }));
    };

    const handleClient = ({ message, frame }: ClientItem): void | Promise<void> => {
      if (exec !== undefined && message.name !== 'terminate') {
        const copying = exec === 'copy-in' && /^copy(Data|Done|Fail)$/.test(message.name);
        if (exec === 'waiting' && message.name === 'query') exec = 'running';
        else if (!copying) {
          const text = 'an exec session runs one query; use `tollgate connect` for an interactive session';
          return end(`exec session refused a ${message.name} message`, fatalErrorResponse('42501', text));
        }
      }
      switch (message.name) {
        case 'query':
          return decide(message.text, 'query').then(({ verdict, classification, traced }) => {
            if (verdict.allow) {
              pending.push(newPending('query', message.text, traced));
              forwarding(classification, traced);
              syncPointSent();
              toServer(frame);
            } else {
              syncPointSent();
              injectDenial(verdict.message, 'query');
            }
          });
        case 'functionCall':
          if (denied) return;
          return decideFunctionCall(message).then(async ({ verdict, text, call }) => {
            if (verdict.allow) {
              // A function run by OID may change the catalog: other sessions' facts are stale.
              lineage?.ranCode();
              changes?.changing();
              // Its result is masked as the SELECT it stands for would be (untraced when unknown).
              const returns = lineage && call !== undefined ? [(await lineage.analyze(call))[0]] : undefined;
              pending.push(
                newPending('query', text, lineage ? [returns?.[0] ?? untracedStatement(text)] : undefined),
              );
              syncPointSent();
              toServer(frame);
            } else {
              syncPointSent();
              injectDenial(verdict.message, 'query');
            }
          });
        case 'parse':
          if (denied) return;
          return decide(message.text, 'parse').then(({ verdict, classification, traced }) => {
            if (verdict.allow) {
              forwarding(classification, traced);
              lineage?.parsed(message.statement, traced?.[0]);
              const only =
                message.statement === '' || prepared.parsed(message.statement, message.text, classification);
              if (message.statement === '') unnamedText = message.text;
              // Its decision covers the first portal bound from it, unless the name was in use.
              if (only) decidedParses.add(message.statement);
              toServer(frame);
            } else {
              denied = { message: verdict.message, injected: false };
            }
          });
        case 'bind':
          if (denied) return;
          portals.set(message.portal, {
            // A named statement may have been prepared by SQL (PREPARE) or by a Parse: see bindText.
            text: message.statement === '' ? unnamedText : prepared.bindText(message.statement),
            allowed: decidedParses.delete(message.statement),
          });
          lineage?.bound(message.portal, message.statement);
          return toServer(frame);
        case 'close':
          if (denied) return;
          if (message.target === 'S' && message.objectName !== '') {
            prepared.closed(message.objectName);
            lineage?.deallocated(message.objectName);
            decidedParses.delete(message.objectName);
          }
          if (message.target === 'P') lineage?.closedPortal(message.objectName);
          return toServer(frame);
        case 'execute': {
          if (denied) return;
          const portal = portals.get(message.portal);
          // A portal this session never bound is a cursor opened by a decided DECLARE (or none, and
          // the server says so); an Execute after PortalSuspended continues an allowed portal.
          // What it returns: whatever is open under its name now, Bind or DECLARE.
          const returns = lineage ? [lineage.portal(message.portal)] : undefined;
          if (!portal || portal.allowed) {
            pending.push(newPending('execute', portal?.text ?? '', returns));
            return toServer(frame);
          }
          // A prepared statement run again: decided and recorded before it runs, like any command.
          return decide(portal.text, 'execute').then(({ verdict, classification, traced }) => {
            if (verdict.allow) {
              portal.allowed = true;
              // The portal's own lineage: its text may be `EXECUTE name` standing for a Parse.
              pending.push(newPending('execute', portal.text, returns));
              forwarding(classification, traced);
              toServer(frame);
            } else {
              denied = { message: verdict.message, injected: false };
            }
          });
        }
        case 'flush':
        case 'sync':
          if (denied && !denied.injected) {
            injectDenial(denied.message, 'extended');
            denied.injected = true;
          }
          if (message.name === 'sync') {
            denied = undefined;
            syncPointSent();
          }
          return toServer(frame);
        case 'terminate':
          toServer(frame);
          return end('client terminated');
        case 'startupMessage':
        case 'sslRequest':
        case 'gssEncRequest':
        case 'cancelRequest':
          throw new PostgresProtocolError('malformed', `unexpected ${message.name} after start-up`);
        default:
          // describe, copyData, copyDone, copyFail, authenticationResponse
          if (denied) return;
          return toServer(frame);
      }
    };

    const decide = async (text: string, via: SqlCommand['via']) => {
      // Text the server would read differently from the parser cannot be classified at all.
      const issue = reading.issue(text);
      let classification: SqlClassification =
        issue === undefined ? prepared.resolve(classifySql(text)) : { ok: false, error: issue };
      // Lineage is part of the facts the policy decides on (writes of masked values, on_derived, predicates).
      const traced = lineage && classification.ok ? await lineage.analyze(text) : undefined;
      if (traced) classification = withLineage(classification, traced);
      const verdict = await options.gate.decide({ text, via, classification }, notify);
      return { verdict, classification, traced };
    };
    /**
     * A fast-path FunctionCall runs a function by OID: opaque code (FUNCTION CALL), decided also as
     * the SELECT it stands for (see fastPathCallText), so a function of another kind of opaque code
     * (query_to_xml, set_config of search_path) needs that kind allowed too.
     */
    const decideFunctionCall = async (message: Extract<FrontendMessage, { name: 'functionCall' }>) => {
      const oid = message.functionId >>> 0;
      const read = await fastPathCallText(side, message);
      const call = read?.text;
      const text = `/* fast-path function call */ function ${oid}${read ? `: ${read.recorded}` : ''}`;
      const asSelect = call !== undefined ? classifySql(call) : undefined;
      let classification: SqlClassification = {
        ok: true,
        statements: (asSelect?.ok ? asSelect.statements : [NO_FACTS]).map((facts) => ({
          ...facts,
          type: 'CALL',
          readOnly: false,
          opaque: [...new Set([...(facts.opaque ?? []), 'FUNCTION CALL'])],
        })),
      };
      const traced = lineage && asSelect?.ok && call ? await lineage.analyze(call) : undefined;
      if (traced) classification = withLineage(classification, traced);
      const verdict = await options.gate.decide({ text, via: 'function-call', classification }, notify);
      return { verdict, text, call: asSelect?.ok ? call : undefined };
    };
    /** What an allowed command changes in the session's own bookkeeping, before it is forwarded. */
    const forwarding = (classification: SqlClassification, traced?: readonly StatementLineage[]) => {
      reading.forwarding(classification);
      if (lineage && traced) {
        // Code it runs (DO, CALL, dynamic SQL, where policy allows them) may change the catalog unseen.
        lineage.forwarding(
          traced,
          classification.ok && classification.statements.some((facts) => runsCode(facts.opaque)),
        );
        if (classification.ok)
          for (const facts of classification.statements) {
            if (facts.nestedIn !== undefined) continue;
            if (facts.deallocatesAll) lineage.deallocated(undefined);
            else if (facts.deallocates !== undefined) lineage.deallocated(facts.deallocates);
          }
      } else if (lineage && !classification.ok) {
        // SQL the parser could not read (allowed as UNPARSED) may hold DDL.
        lineage.ranCode();
      } else if (changes && (!classification.ok || classification.statements.some(mayChangeCatalog))) {
        changes.changing();
      }
      // A name SQL prepares or frees no longer runs what an earlier Parse decision covered.
      const touched = prepared.record(classification);
      if (touched.all) decidedParses.clear();
      for (const name of touched.names) decidedParses.delete(name);
    };

    const newPending = (
      kind: 'query' | 'execute',
      text: string,
      traced?: readonly StatementLineage[],
    ): PendingStatement => ({
      kind,
      text,
      started: performance.now(),
      rows: 0,
      counted: 0,
      bytes: 0,
      masked: new Set(),
      lineage: traced,
      index: 0,
    });
    /**
     * The open transaction changed a table holding masked columns (or what cannot be traced), or
     * declared a WITH HOLD cursor reading them: the checks the server defers to COMMIT, SET
     * CONSTRAINTS or a Sync quote its rows (COMMIT reads such a cursor whole), in the answer to
     * whatever statement comes then. Cleared when the server is idle outside a transaction.
     */
    let changedMaskedInTransaction = false;
    /**
     * Whether the server's errors and notices for the statement being answered are withheld: it
     * reads masked values, the transaction changed masked rows, or no statement is being answered
     * (a Sync's implicit COMMIT): fail closed.
     */
    const withholds = (head: PendingStatement | undefined): boolean =>
      lineage !== undefined &&
      (head === undefined || changedMaskedInTransaction || readsMasked(holding(head), options.masker));
    /**
     * The server ran (some of) the statement being answered: note whether it changed masked rows,
     * or declared a WITH HOLD cursor reading masked values (COMMIT runs its query to the end, and
     * its errors quote them).
     */
    const ran = (head: PendingStatement | undefined) => {
      if (lineage === undefined || head === undefined) return;
      const statement = holding(head);
      if (
        changesMasked(statement, options.masker) ||
        (statement?.holds === true && readsMasked(statement, options.masker))
      )
        changedMaskedInTransaction = true;
    };
    /**
     * The lineage of the statement being answered, if it still holds (no catalog change came after
     * it was made: see SessionLineage.holds); undefined masks and withholds as untraced.
     */
    const holding = (head: PendingStatement): StatementLineage | undefined => {
      const statement = head.lineage?.[head.index];
      return lineage?.holds(statement) ? statement : undefined;
    };
    /** The masks of the current result's columns: from its statement's lineage (none: fail closed). */
    const masksFor = (head: PendingStatement | undefined, count: number): ColumnMask[] | undefined => {
      if (!lineage) return undefined;
      if (!head) return columnMasks(undefined, count, options.masker);
      return (head.masks ??= columnMasks(holding(head)?.outputs, count, options.masker));
    };
    /**
     * Whether a DataRow of the current result can leave undecoded under masking: no content
     * detectors, and lineage and the column rules by name leave every column of the result clear.
     * Known once the result's RowDescription (whose names the catalog has resolved) has been seen.
     */
    const rowsPassUnchanged = (head: PendingStatement | undefined, frame: Buffer): boolean => {
      const fields = head?.fields;
      if (!head || !fields || options.masker.detectsContent) return false;
      // Code, length, then the row's field count: another width than described is decoded.
      if (frame.length < 7 || frame.readInt16BE(5) !== fields.length) return false;
      return (head.clearRows ??=
        (masksFor(head, fields.length)?.every((mask) => mask === 'clear') ?? false) &&
        fields.every((field) => {
          const name = catalog.lookup(field);
          return !(name && options.masker.isMaskedColumn(name));
        }));
    };
    const complete = (statement: PendingStatement) => {
      // A statement the target failed while the session was being ended failed because of it; one
      // it failed after a client's cancel, most likely because of that (the target's words say).
      const error =
        statement.error === undefined || statement.error.startsWith('interrupted (')
          ? statement.error
          : aborting !== undefined
            ? interrupted(aborting, `the target said: ${statement.error}`)
            : statement.cancelled !== undefined
              ? `cancelled (${statement.cancelled}): the target said: ${statement.error}`
              : statement.error;
      options.onStatement?.({
        text: statement.text,
        rows: statement.rows + statement.counted,
        bytes: statement.bytes,
        durationMs: performance.now() - statement.started,
        ...(error !== undefined ? { error } : {}),
        masked: [...statement.masked],
      });
    };

    // ---- server -> client -------------------------------------------------------------------
    let fields: readonly FieldDescription[] = [];
    let copyOut:
      | {
          format: number;
          rows: CopyFormat;
          masks: readonly ColumnMask[];
          header: boolean;
          /**
           * Whether its rows can be split as UTF-8: not in an encoding whose multi-byte characters
           * hide delimiters and backslashes (the server escapes neither there).
           */
          readable: boolean;
          binary?: BinaryCopyMasker;
        }
      | undefined;
    let held: Buffer[] = [];

    // Frames relayed unchanged that lie next to each other in the server's read buffer leave as one
    // slice of it (no copy), written when the current burst of server messages has been handled.
    let outgoing: Buffer | undefined;
    let waitingForClient = false;
    const flushToClient = () => {
      const bytes = outgoing;
      if (!bytes) return;
      outgoing = undefined;
      if (!client.write(bytes) && !waitingForClient) {
        waitingForClient = true;
        serverPump.pause('client-drain');
        client.once('drain', () => {
          waitingForClient = false;
          serverPump.release('client-drain');
        });
      }
    };
    const toClient = (frame: Buffer) => {
      if (outgoing) {
        if (frame.buffer === outgoing.buffer && frame.byteOffset === outgoing.byteOffset + outgoing.length) {
          outgoing = Buffer.from(outgoing.buffer, outgoing.byteOffset, outgoing.length + frame.length);
          return;
        }
        flushToClient();
      } else {
        process.nextTick(flushToClient);
      }
      outgoing = frame;
    };
    const flushHeld = () => {
      for (const frame of held) toClient(frame);
      held = [];
    };

    /** Binary COPY output that does not read as the format cannot be masked: end rather than leak. */
    const endBinaryCopy = (reason: string) =>
      end(
        `binary COPY output unreadable under masking: ${reason}`,
        fatalErrorResponse('08P01', `tollgate: binary COPY output could not be masked (${reason})`),
      );

    const handleServer = (item: ServerItem): void | Promise<void> => {
      const { frame } = item;
      const head = pending[0];
      // The bulk of a result, relayed without decoding when nothing in it can be masked.
      if (
        item.code === (BackendCode.DataRow as number) &&
        (!options.masker.active || rowsPassUnchanged(head, frame))
      ) {
        if (head) {
          head.counted++;
          head.bytes += frame.length;
        }
        return toClient(frame);
      }
      if (item.code === (BackendCode.CopyData as number) && !(copyOut && options.masker.active)) {
        if (head) head.bytes += frame.length;
        return toClient(frame);
      }
      const message = parseBackendFrame(item);
      switch (message.name) {
        case 'rowDescription':
          flushHeld();
          fields = message.fields;
          if (head) {
            head.fields = message.fields;
            head.masks = undefined;
            head.clearRows = undefined;
          }
          toClient(frame);
          if (options.masker.active && !catalog.knows(fields)) return catalog.resolve(fields);
          return;
        case 'dataRow': {
          if (head) {
            head.counted++;
            head.bytes += frame.length;
          }
          const rowFields = head?.fields ?? fields;
          const masks = masksFor(head, message.values.length);
          const masked = maskRow(message.values, rowFields, options.masker, (f) => catalog.lookup(f), masks);
          if (!masked.changed) return toClient(frame);
          for (const reason of masked.reasons) head?.masked.add(reason);
          return toClient(serializeDataRow(masked.values));
        }
        case 'copyOutResponse':
          flushHeld();
          {
            const statement = head?.lineage?.[head.index];
            const rows = statement?.copy ?? DEFAULT_COPY_FORMAT;
            const count = message.columnFormats.length;
            const masks = masksFor(head, count) ?? new Array<ColumnMask>(count).fill('clear');
            copyOut = {
              format: message.format,
              rows,
              masks,
              header: rows.format === 'csv' && rows.header,
              readable: !embedsAscii(rows.encoding ?? reading.encoding ?? 'unknown'),
              // Binary rows are read as the binary COPY format, whatever the statement's text said.
              ...(message.format !== 0 ? { binary: new BinaryCopyMasker(masks, options.masker) } : {}),
            };
          }
          return toClient(frame);
        case 'copyData': {
          if (head) {
            head.bytes += frame.length;
            head.counted++;
          }
          if (copyOut?.binary) {
            const masked = copyOut.binary.push(message.data);
            if ('error' in masked) return endBinaryCopy(masked.error);
            for (const reason of masked.reasons) head?.masked.add(reason);
            if (masked.data.length === 0) return;
            return toClient(
              masked.data.equals(message.data)
                ? frame
                : serializeBackendMessage({ name: 'copyData', data: masked.data }),
            );
          }
          if (copyOut?.header) {
            // The header row of csv names the columns.
            copyOut.header = false;
            return toClient(frame);
          }
          const masked = maskCopyRow(
            message.data,
            copyOut?.rows ?? DEFAULT_COPY_FORMAT,
            copyOut?.masks ?? [],
            options.masker,
            copyOut?.readable ?? true,
          );
          if (masked.reasons.length === 0) return toClient(frame);
          for (const reason of masked.reasons) head?.masked.add(reason);
          return toClient(serializeBackendMessage({ name: 'copyData', data: masked.row }));
        }
        case 'copyDone': {
          const unfinished = copyOut?.binary?.finish();
          copyOut = undefined;
          if (unfinished) return endBinaryCopy(unfinished);
          return toClient(frame);
        }
        case 'parseComplete':
          if (swallowCompletions > 0) {
            flushHeld();
            held.push(frame);
            return;
          }
          return toClient(frame);
        case 'bindComplete':
          if (swallowCompletions > 0 && held.length === 1) {
            held.push(frame);
            return;
          }
          flushHeld();
          return toClient(frame);
        case 'errorResponse': {
          const ours =
            expectedDenials.length > 0 &&
            message.fields['C'] === '42501' &&
            message.fields['M'] === expectedDenials[0];
          if (ours) {
            expectedDenials.shift();
            if (held.length === 2) {
              held = [];
              swallowCompletions--;
            }
            flushHeld();
            const { W: _where, P: _position, F: _file, L: _line, R: _routine, ...visible } = message.fields;
            return toClient(serializeBackendMessage({ name: 'errorResponse', fields: visible }));
          }
          flushHeld();
          // Under column rules, the server's words about a statement that read masked values may quote them.
          const withheld = withholds(head);
          const fields = withheld ? withheldFields(message.fields) : message.fields;
          if (head) {
            head.error = fields['M'] ?? 'error';
            if (withheld) head.masked.add('message');
            if (head.kind === 'execute') complete(pending.shift() as PendingStatement);
          }
          return toClient(withheld ? serializeBackendMessage({ name: 'errorResponse', fields }) : frame);
        }
        case 'noticeResponse':
          flushHeld();
          if (!withholds(head)) return toClient(frame);
          head?.masked.add('message');
          return toClient(
            serializeBackendMessage({ name: 'noticeResponse', fields: withheldFields(message.fields) }),
          );
        case 'commandComplete':
          ran(head);
          if (head) {
            // `UPDATE 1` has no rows to count: the tag says how many it touched.
            head.rows += rowsOfCommandTag(message.tag) ?? head.counted;
            head.counted = 0;
            head.index++;
            head.fields = undefined;
            head.masks = undefined;
            head.clearRows = undefined;
          }
          flushHeld();
          if (head?.kind === 'execute') complete(pending.shift() as PendingStatement);
          return toClient(frame);
        case 'emptyQueryResponse':
        case 'portalSuspended':
          ran(head);
          flushHeld();
          if (head?.kind === 'execute') complete(pending.shift() as PendingStatement);
          return toClient(frame);
        case 'copyInResponse':
          if (exec === 'running') exec = 'copy-in';
          flushHeld();
          return toClient(frame);
        case 'parameterStatus':
          reading.parameterStatus(message.parameter, message.value);
          flushHeld();
          return toClient(frame);
        case 'readyForQuery':
          reading.readyForQuery();
          lineage?.readyForQuery(message.status);
          if (message.status === 'I') {
            changedMaskedInTransaction = false;
            lineage?.idle();
            changes?.settled();
          }
          flushHeld();
          swallowCompletions = 0;
          if (exec === 'running' || exec === 'copy-in') exec = 'done';
          for (const statement of pending.splice(0)) complete(statement);
          toClient(frame);
          if (aborting !== undefined) end(aborting);
          return;
        case 'functionCallResponse': {
          // Under column rules, masked as the SELECT of the function would be (see functionCall);
          // content detectors read it as bytes (its type is not described).
          if (!options.masker.active || message.value === null) return toClient(frame);
          const masks = masksFor(head, 1);
          const masked = maskRow([message.value], [], options.masker, () => undefined, masks);
          if (!masked.changed) return toClient(frame);
          for (const reason of masked.reasons) head?.masked.add(reason);
          return toClient(
            serializeBackendMessage({ name: 'functionCallResponse', value: masked.values[0] ?? null }),
          );
        }
        case 'notificationResponse': {
          // Any session's NOTIFY (an application's trigger: pg_notify('changed', NEW.ssn)) reaches a
          // listener: under column rules its payload is of unknown origin, masked whole (the
          // channel, and an empty payload, stay); content detectors read it otherwise.
          flushHeld();
          if (!options.masker.active || message.payload === '') return toClient(frame);
          const masked = lineage
            ? options.masker.maskWhole('text')
            : options.masker.maskContent(message.payload, 'text');
          if (masked.reasons.length === 0) return toClient(frame);
          for (const reason of masked.reasons) head?.masked.add(reason);
          return toClient(serializeBackendMessage({ ...message, payload: masked.value ?? '' }));
        }
        case 'backendKeyData':
          // Never reveal the real key; the client only ever holds Tollgate's.
          return toClient(serializeBackendMessage({ name: 'backendKeyData', ...fakeKeyData }));
        default:
          flushHeld();
          return toClient(frame);
      }
    };

    const fakeKeyData = { processId: fakeKey.processId, secretKey: fakeKey.secretKey };
    const clientPump = new OrderedPump<ClientItem>(client, handleClient, (error) => fail(error));
    const serverPump = new OrderedPump<ServerItem>(server, handleServer, (error) => fail(error));
    const serverParser: BackendMessageParser = target.parser;

    const fail = (error: unknown) => {
      const text = error instanceof Error ? error.message : String(error);
      const code = error instanceof PostgresProtocolError ? '08P01' : '58000';
      end(
        text,
        fatalErrorResponse(
          code,
          error instanceof PostgresProtocolError ? `invalid protocol message: ${text}` : text,
        ),
      );
    };

    client.on('data', (chunk: Buffer) => {
      try {
        clientParser.parse(chunk, (message, frame) => clientPump.push({ message, frame }));
      } catch (error) {
        fail(error);
      }
    });
    server.on('data', (chunk: Buffer) => {
      // Writes caused by one chunk from the server leave together (see frameStreamDuplex's writev).
      client.cork();
      process.nextTick(() => client.uncork());
      try {
        serverParser.frames(chunk, (item) => serverPump.push(item));
      } catch (error) {
        fail(error);
      }
    });
    client.once('close', () => end('client closed'));
    client.once('end', () => end('client closed'));
    client.on('error', () => end('client connection failed'));
    server.once('close', () => end('target closed', undefined));
    server.on('error', (error: Error) => end(`target connection failed: ${error.message}`));

    // The client is authenticated by Tollgate already; tell it so, then replay the server's greeting.
    toClient(serializeBackendMessage({ name: 'authenticationOk' }));
    for (const status of target.parameterStatus) toClient(status);
    toClient(serializeBackendMessage({ name: 'backendKeyData', ...fakeKeyData }));
    toClient(serializeBackendMessage({ name: 'readyForQuery', status: target.transactionStatus }));

    for (const item of leftovers) clientPump.push(item);
    const signal = options.signal;
    if (signal?.aborted) abortSession(String(signal.reason));
    else signal?.addEventListener('abort', () => abortSession(String(signal.reason)), { once: true });
    client.resume();
    server.resume();
  });
}

/** What a fast-path call the engine cannot read as a SELECT is known to do: nothing. */
const NO_FACTS: SqlStatementFacts = {
  type: 'CALL',
  tables: [],
  hasWhere: false,
  readOnly: false,
};

/** A statement that makes the target itself raise the denial: it arrives in order and fails a transaction block. */
export function denialStatement(message: string): string {
  const text = denialText(message);
  return `DO $tollgate$BEGIN RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = $m$${text}$m$; END$tollgate$`;
}

/**
 * The message as the denial statement quotes it: no `$tollgate$` or `$m$` left in it (the message
 * can quote the client's text: a parse error names where it stopped), removed until none is left,
 * since one removal can join what surrounded it into another (`$to$tollgate$llgate$`), and no `$`
 * before a trailing word, which the closing `$m$` would join into one.
 */
function denialText(message: string): string {
  let text = message;
  for (;;) {
    const next = text.replace(/\$(tollgate|m)\$/g, '').replace(/\$([A-Za-z_]*)$/, '$1');
    if (next === text) return text;
    text = next;
  }
}
