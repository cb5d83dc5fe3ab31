import { Socket } from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import type { CommandFacts } from '@tollgate/policy';
import { frameReadsReadable, type CommandPort } from '@tollgate/protocol-tcp';
import {
  DEFAULT_HTTP_LIMITS,
  HttpRequestParser,
  HttpResponseParser,
  type HttpParserLimits,
} from '../http-message.parser';
import { serializeRequestHead, serializeResponse, serializeResponseHead } from '../http-head.serializer';
import {
  closesConnection,
  headerTokens,
  requestsUpgrade,
  type BodyFraming,
  type HttpEvent,
  type HttpHeader,
  type RequestHead,
  type ResponseHead,
} from '../http-messages';
import { HttpProtocolError } from '../http-protocol.error';
import { ChunkedBodyDecoder, encodeChunk, LAST_CHUNK } from '../chunked-body.decoder';
import { MessageSource } from './message-source';
import { BodyRecorder, bodyFields, type BodyPlan, type RecordedBody } from './body-recorder';

/** The start of a request body, read before the decision (payload: chunk framing removed). */
export interface PeekedBody {
  readonly payload: Buffer;
  /** Whether the payload is the whole body (else it stops at the peek's limit). */
  readonly complete: boolean;
}

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

/** A response the relay writes itself (a denial, a malformed request, an unreachable target). */
export interface RelayReply {
  readonly headers: readonly HttpHeader[];
  readonly body: Buffer;
}

/** How a protocol on top of HTTP (plain HTTP, the Kubernetes API) words the relay's own answers. */
export interface ReplyFormat {
  denied(message: string, rule: string | undefined): RelayReply;
  error(status: number, message: string): RelayReply;
}

/**
 * A response body rewritten on its way to the client (the Kubernetes engine masks Secrets). Fail
 * closed: a response it cannot read is refused, never relayed as it came.
 */
export interface ResponseRewrite {
  /** The request as forwarded (after the forwarding rules): Accept narrowed to what it can read, say. */
  request(head: RequestHead): RequestHead;
  /** How this response's body is rewritten; a string refuses it (the client gets a 502 saying so). */
  response(head: ResponseHead, framing: BodyFraming): BodyRewriter | string;
}

export interface BodyRewriter {
  /**
   * Whether the whole body is read before anything of the response goes out (it then goes out with a
   * Content-Length, and a failure is a clean 502); otherwise each piece goes out as it is rewritten
   * (a watch), and a failure ends the response after `BodyRewriteError.tail`.
   */
  readonly whole: boolean;
  /** Rewritten bytes for the next piece of the body's payload (chunk framing already removed). */
  write(payload: Buffer): Buffer;
  end(): Buffer;
  /** What was masked (rule names), for the audit record; empty when nothing was. */
  readonly masked: readonly string[];
}

/** A body that cannot be rewritten: the response is refused or cut, never relayed unrewritten. */
export class BodyRewriteError extends Error {
  constructor(
    message: string,
    /** For a streamed body: the last bytes the client gets before the response ends (a watch's ERROR event). */
    readonly tail?: Buffer,
  ) {
    super(message);
  }
}

/**
 * Watches the bytes of a switched protocol both ways (the Kubernetes engine records exec), without
 * changing them. Fail closed: what it cannot read ends the stream.
 */
export interface StreamTap {
  /** The request as forwarded: offers narrowed to what the tap can read (no WebSocket compression). */
  request(head: RequestHead): RequestHead;
  /** The target switched protocols with this response; a string refuses it (the client gets a 502). */
  switched(head: ResponseHead): string | undefined;
  /** Bytes on their way to the target, then to the client; throwing ends the stream. */
  fromClient(bytes: Buffer): void;
  fromTarget(bytes: Buffer): void;
  /** The stream ended (or never switched). */
  end(): void;
}

export interface HttpSessionOptions {
  /** A connection to the target, TLS verified as configured; the first one may be opened already. */
  readonly connect: () => Promise<Duplex>;
  readonly first?: Duplex;
  /**
   * The request as the target gets it (Host, base path, injected credential); it throws an
   * HttpProtocolError for a request the target must not get (called before the decision too).
   */
  readonly forward: (head: RequestHead) => RequestHead;
  /**
   * What policy decides on: method and path, or a Kubernetes API request; with the start of the
   * body when `peekBody` asked for it.
   */
  readonly classify: (head: RequestHead, body?: PeekedBody) => CommandFacts;
  /**
   * How many bytes of this request's body policy must see before deciding (a form POST may name
   * another method in a `_method` field); undefined: decided on the head alone.
   */
  readonly peekBody?: (head: RequestHead) => number | undefined;
  /** How an allowed request's response is rewritten; undefined: relayed as it comes. */
  readonly rewrite?: (head: RequestHead, facts: CommandFacts) => ResponseRewrite | undefined;
  /** What watches an allowed request's switched protocol; a string refuses the request with a 403. */
  readonly tap?: (head: RequestHead, facts: CommandFacts) => StreamTap | string | undefined;
  /**
   * Which of an allowed request's bodies are recorded in its result (their first bytes, copied as
   * they are relayed); undefined: none, and no capture work is done.
   */
  readonly bodies?: (head: RequestHead, facts: CommandFacts) => BodyPlan | undefined;
  readonly commands: Pick<CommandPort, 'decide' | 'report'>;
  readonly replies: ReplyFormat;
  readonly limits?: HttpParserLimits;
  /** How long a client may take to send a request's head once it started one (slow clients are cut off). */
  readonly headTimeoutMs?: number;
  /** How long a connection may sit idle between requests. */
  readonly idleTimeoutMs?: number;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  408: 'Request Timeout',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  505: 'HTTP Version Not Supported',
};

class Closed extends Error {}

const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding']);

/** A response head for a rewritten body: its length, chunked, or until the connection closes. */
function rewrittenHead(head: ResponseHead, framing: number | 'chunked' | 'close'): ResponseHead {
  const headers: HttpHeader[] = head.headers.filter(([name]) => !FRAMING_HEADERS.has(name.toLowerCase()));
  if (typeof framing === 'number') headers.push(['Content-Length', String(framing)]);
  else if (framing === 'chunked') headers.push(['Transfer-Encoding', 'chunked']);
  else headers.push(['Connection', 'close']);
  return { ...head, headers };
}

/** Streams corked until the current tick ends (see write). */
const corked = new WeakSet<Writable>();

function uncork(stream: Writable): void {
  corked.delete(stream);
  stream.uncork();
}

/**
 * Writes with backpressure: resolves once the stream takes more, rejects if it closes first.
 * What is written to a stream within one tick of the event loop leaves together: a response's
 * head and the body read with it become one tunnel frame (each frame costs a message on every hop)
 * or one write(2) to a socket. Nothing is held past the tick, so streams (server-sent events,
 * watches, a switched protocol) are not delayed.
 */
function write(stream: Writable, bytes: Buffer): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.reject(new Closed('the stream is closed'));
  if (!corked.has(stream)) {
    corked.add(stream);
    stream.cork();
    process.nextTick(uncork, stream);
  }
  if (stream.write(bytes)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onClose = () => settle(new Closed('the stream closed'));
    stream.on('drain', onDrain);
    stream.on('close', onClose);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number | undefined, onTimeout: () => T): Promise<T> {
  if (!ms) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Target {
  readonly socket: Duplex;
  readonly source: MessageSource<ResponseHead>;
  readonly parser: HttpResponseParser;
  /** Whether a request went out on it already, and whether the current one is not the first. */
  used: boolean;
  reused: boolean;
}

interface ResponseOutcome {
  readonly status: number;
  /** Body bytes relayed to the client, as on the wire. */
  readonly bytes: number;
  /** Whether the target connection can carry another request. */
  readonly reusable: boolean;
  readonly switched: boolean;
  readonly clientKeepsAlive: boolean;
  readonly bodySent: boolean;
  /** What the rewrite masked (rule names). */
  readonly masked?: readonly string[];
  /** Why a rewritten response was cut short. */
  readonly error?: string;
  /** What was recorded of the response's body (as the client got it), where the plan records it. */
  readonly responseBody?: RecordedBody;
}

/** decide()'s answer when the client left while its request was held for review. */
const CLIENT_GONE: unique symbol = Symbol('the client went away');

/** Most bytes read ahead from a client while its request is held for review. */
const READ_AHEAD_WHILE_HELD = 1024 * 1024;

/** The target closed a connection without answering (a kept-alive one it had timed out, typically). */
class NoAnswer extends Error {}

/**
 * One client connection relayed request by request: each request's head is parsed and decided by
 * policy (recorded before it is forwarded), forwarded with the agent's credential, and its body and
 * the response relayed as the bytes arrive (chunked, server-sent events and watches stream; nothing
 * is buffered beyond a read). A protocol switch (WebSocket) turns the connection into a byte relay.
 * Requests on one connection are handled in order; a denial is answered by the relay itself.
 */
export class HttpSession {
  private readonly requestParser: HttpRequestParser;
  private readonly requests: MessageSource<RequestHead>;
  private target: Target | undefined;
  /** Whether a response is half relayed (its head went to the client): errors then cut the connection. */
  private responding = false;
  /**
   * Reports a switched protocol's end, called before the client's side is ended: what is sent after
   * that (the result, a recording's last chunk) would not reach the session's audit trail.
   */
  private switchedEnded: ((bytes: number) => void) | undefined;
  /** Ended from outside (abort): nothing decided from now on reaches the target. */
  private aborted = false;

  constructor(
    private readonly client: Duplex,
    private readonly options: HttpSessionOptions,
  ) {
    this.requestParser = new HttpRequestParser(options.limits ?? DEFAULT_HTTP_LIMITS);
    this.requests = new MessageSource(client, this.requestParser);
    if (options.first) {
      this.target = this.wrapTarget(options.first);
      // Opened when the session was, so it may have waited: a failure on it is retried like a reuse.
      this.target.used = true;
    }
  }

  async run(): Promise<void> {
    try {
      for (;;) {
        const request = await this.nextRequest();
        if (!request || !(await this.handle(request.head, request.framing))) break;
      }
      if (!this.client.destroyed) this.client.end();
    } catch (error) {
      if (error instanceof HttpProtocolError && !this.client.destroyed && !this.responding) {
        await this.reply(error.status, this.options.replies.error(error.status, error.message), true).catch(
          () => undefined,
        );
        this.client.end();
      } else {
        this.client.destroy();
      }
    } finally {
      this.target?.socket.destroy();
    }
  }

  abort(): void {
    this.aborted = true;
    this.client.destroy();
    this.target?.socket.destroy();
  }

  private async nextRequest(): Promise<{ head: RequestHead; framing: BodyFraming } | undefined> {
    const { headTimeoutMs, idleTimeoutMs } = this.options;
    const timedOut = Symbol('timeout');
    const event = await withTimeout<
      Awaited<ReturnType<MessageSource<RequestHead>['next']>> | typeof timedOut
    >(
      this.requests.next(),
      // An idle connection waits longer than one that started a request and stalls.
      this.requests.idle ? (idleTimeoutMs ?? headTimeoutMs) : headTimeoutMs,
      () => timedOut,
    );
    if (event === timedOut) {
      if (this.requests.idle) return undefined;
      throw new HttpProtocolError(408, 'the request head did not arrive in time');
    }
    if (event === null) return undefined;
    if (event.type !== 'head') throw new HttpProtocolError(400, 'expected a request');
    return { head: event.head, framing: event.framing };
  }

  /**
   * The policy's verdict on a request. One held for review may wait minutes: meanwhile the client is
   * read on (within READ_AHEAD_WHILE_HELD bytes), and if its side of the connection ends, it is not
   * waited for (a client that half-closes while its request is held counts as gone).
   */
  private async decide(
    command: string,
    facts: CommandFacts,
  ): Promise<Awaited<ReturnType<CommandPort['decide']>> | typeof CLIENT_GONE> {
    let held!: () => void;
    const heldForReview = new Promise<void>((resolve) => (held = resolve));
    const deciding = this.options.commands.decide(command, facts, () => held());
    const gone = heldForReview
      .then(() => this.requests.untilEnd(READ_AHEAD_WHILE_HELD))
      .then((): typeof CLIENT_GONE => CLIENT_GONE);
    return Promise.race([deciding, gone]);
  }

  /** One request, start to end; false when the connection must close afterwards. */
  private async handle(asked: RequestHead, framing: BodyFraming): Promise<boolean> {
    // A target answers TRACE (TRACK on IIS) with the request it got, headers and all: the
    // credential the agent adds would reach the caller. Refused whatever the policy says.
    if (/^(TRACE|TRACK)$/i.test(asked.method)) {
      throw new HttpProtocolError(
        405,
        'TRACE and TRACK are refused: the target would echo the request, the credential the agent adds included',
      );
    }
    let request = asked;
    const command = `${request.method} ${request.target}`;
    const limit = this.options.peekBody?.(request);
    let body: PeekedBody | undefined;
    if (limit !== undefined && framing.kind !== 'none') {
      body = await this.peek(request, framing, limit);
      // The client was told to go on already; the target need not be asked again.
      request = { ...request, headers: request.headers.filter(([name]) => name.toLowerCase() !== 'expect') };
    }
    // A request the target must not get as asked (a path leaving the target's base path) is refused
    // before it is decided: forward throws a protocol error (400) for it.
    this.options.forward(request);
    const facts = this.options.classify(request, body);
    const verdict = await this.decide(command, facts);
    // The client went away while its request waited for a review: nothing is forwarded, and the
    // session ends (its review is withdrawn at the gateway).
    if (verdict === CLIENT_GONE) return false;
    // The session was ended (a kill, a revoked token) while the decision was made durable: the
    // end came first, so the request is not forwarded, on the kept-alive connection or a new one.
    if (this.aborted) return false;
    if (!verdict.allow) {
      const hasBody = framing.kind === 'chunked' || (framing.kind === 'length' && framing.length > 0);
      // A body nobody will read is not waited for: the connection closes after the answer.
      const close = hasBody || closesConnection(request);
      await this.reply(403, this.options.replies.denied(verdict.message, verdict.rule), close);
      if (close) return false;
      await this.expectEnd();
      this.requestParser.upgradeAnswered(false, this.requests.push);
      return true;
    }
    const rewrite = this.options.rewrite?.(request, facts);
    const tap = this.options.tap?.(request, facts);
    if (typeof tap === 'string') {
      this.options.commands.report({
        command,
        rows: 0,
        bytes: 0,
        durationMs: 0,
        masked: [],
        status: 403,
        error: tap,
      });
      await this.reply(403, this.options.replies.denied(tap, undefined), true);
      return false;
    }
    const plan = this.options.bodies?.(request, facts);
    const requestBody = plan && BodyRecorder.for('request', plan, request.headers, framing, true);
    const started = performance.now();
    const report = (
      outcome: { status: number; bytes: number; error?: string; masked?: readonly string[] } & ReturnType<
        typeof bodyFields
      >,
    ) =>
      this.options.commands.report({
        command,
        rows: 0,
        durationMs: performance.now() - started,
        masked: [],
        ...outcome,
      });
    const hasBody = framing.kind === 'chunked' || (framing.kind === 'length' && framing.length > 0);
    let outcome: ResponseOutcome | undefined;
    let reported = false;
    this.switchedEnded = (bytes) => {
      reported = true;
      report({ status: 101, bytes });
    };
    // A kept-alive target connection may have been closed by the target meanwhile: a request
    // without a body is sent again once on a new connection if the old one gave no answer at all.
    for (let attempt = 0; !outcome; attempt++) {
      let target: Target;
      try {
        target = await this.openTarget(attempt > 0);
      } catch (error) {
        if (this.aborted) return false;
        const message = `the target could not be reached: ${error instanceof Error ? error.message : String(error)}`;
        report({ status: 502, bytes: 0, error: message });
        await this.reply(502, this.options.replies.error(502, message), true);
        return false;
      }
      try {
        outcome = await this.exchange(target, request, rewrite, tap, plan, requestBody);
      } catch (error) {
        this.dropTarget();
        if (error instanceof NoAnswer && target.reused && !hasBody && attempt === 0) continue;
        if (error instanceof BodyRewriteError) {
          report({ status: 502, bytes: 0, error: error.message });
          throw new HttpProtocolError(502, error.message);
        }
        if (error instanceof HttpProtocolError && error.status !== 502) throw error;
        const message = error instanceof Error ? error.message : String(error);
        report({ status: 502, bytes: 0, error: message });
        if (error instanceof Closed) throw error;
        throw new HttpProtocolError(502, `the target's response: ${message}`);
      }
    }
    if (!reported)
      report({
        status: outcome.status,
        bytes: outcome.bytes,
        ...(outcome.status >= 500 ? { error: `HTTP ${outcome.status}` } : {}),
        ...(outcome.error !== undefined ? { error: outcome.error } : {}),
        ...(outcome.masked ? { masked: outcome.masked } : {}),
        ...(plan
          ? bodyFields(
              requestBody instanceof BodyRecorder ? requestBody.result() : requestBody,
              outcome.responseBody,
            )
          : {}),
      });
    if (outcome.switched) return false;
    // A response that ends before its request body was sent leaves the connection unusable.
    if (!outcome.bodySent || !outcome.reusable) this.dropTarget();
    if (!outcome.bodySent) return false;
    this.requestParser.upgradeAnswered(false, this.requests.push);
    return !closesConnection(request) && outcome.clientKeepsAlive;
  }

  /** Sends the request (head, then its body as it arrives) and relays the response. */
  private async exchange(
    target: Target,
    request: RequestHead,
    rewrite: ResponseRewrite | undefined,
    tap: StreamTap | undefined,
    plan: BodyPlan | undefined,
    requestBody: BodyRecorder | RecordedBody | undefined,
  ): Promise<ResponseOutcome> {
    target.parser.expect(request.method);
    let bodySent = false;
    let forwarded = this.options.forward(request);
    if (rewrite) forwarded = rewrite.request(forwarded);
    if (tap) forwarded = tap.request(forwarded);
    const sent = write(target.socket, serializeRequestHead(forwarded))
      .then(() => this.pumpBody(target.socket, requestBody instanceof BodyRecorder ? requestBody : undefined))
      .then(() => {
        bodySent = true;
      });
    // A request body that breaks off fails the exchange at once; the target would wait for it.
    const never = new Promise<never>(() => undefined);
    const outcome = await Promise.race([
      rewrite
        ? this.relayRewritten(target, request, rewrite, plan)
        : this.relayResponse(
            target,
            requestsUpgrade(forwarded) ? headerTokens(forwarded.headers, 'upgrade') : [],
            tap,
            plan,
          ),
      sent.then(() => never),
    ]);
    sent.catch(() => undefined);
    return { ...outcome, bodySent: bodySent || outcome.switched };
  }

  /**
   * Reads the body until its end or `limit` payload bytes, keeping its events for pumpBody. A client
   * that waits for `100 Continue` before sending it is told to go on.
   */
  private async peek(request: RequestHead, framing: BodyFraming, limit: number): Promise<PeekedBody> {
    if (headerTokens(request.headers, 'expect').includes('100-continue')) await write(this.client, CONTINUE);
    const decoder = framing.kind === 'chunked' ? new ChunkedBodyDecoder() : undefined;
    const pieces: Buffer[] = [];
    let size = 0;
    for (;;) {
      const event = await this.requests.next();
      if (!event) throw new HttpProtocolError(400, 'the request body ended early');
      if (event.type === 'end') {
        this.peeked.push(event);
        return { payload: Buffer.concat(pieces), complete: true };
      }
      if (event.type !== 'body') continue;
      const bytes = Buffer.from(event.bytes);
      this.peeked.push({ type: 'body', bytes });
      for (const piece of decoder ? decoder.decode(bytes) : [bytes]) {
        pieces.push(piece);
        size += piece.length;
      }
      if (size > limit) return { payload: Buffer.concat(pieces).subarray(0, limit), complete: false };
    }
  }

  /** Body events read before the decision (peek), sent before any read after it. */
  private peeked: HttpEvent<RequestHead>[] = [];

  /** The request's body, as its bytes arrive, to the target (its first bytes to `recorder` too). */
  private async pumpBody(to: Writable, recorder: BodyRecorder | undefined): Promise<void> {
    for (;;) {
      const event = this.peeked.shift() ?? (await this.requests.next());
      if (!event) throw new HttpProtocolError(400, 'the request body ended early');
      if (event.type === 'end') return;
      if (event.type === 'body') {
        recorder?.write(event.bytes);
        await write(to, event.bytes);
      }
    }
  }

  private async expectEnd(): Promise<void> {
    const event = await this.requests.next();
    if (event?.type !== 'end') throw new HttpProtocolError(400, 'expected the end of the request');
  }

  private async relayResponse(
    target: Target,
    /** The protocols the forwarded request offered to switch to (lower case). */
    offered: readonly string[],
    tap?: StreamTap,
    plan?: BodyPlan,
  ): Promise<Omit<ResponseOutcome, 'bodySent'>> {
    let bytes = 0;
    let head: ResponseHead | undefined;
    let framing: BodyFraming | undefined;
    let recorder: BodyRecorder | RecordedBody | undefined;
    for (;;) {
      const event = await target.source.next();
      if (!event) {
        if (!head) throw new NoAnswer('the target closed the connection before answering');
        throw new Error('the target closed the connection in the middle of its response');
      }
      if (event.type === 'head') {
        // What follows a switch is no longer read: only a switch the relay offered is relayed.
        if (event.framing.kind === 'upgrade') {
          const to = headerTokens(event.head.headers, 'upgrade');
          if (offered.length === 0) {
            throw new HttpProtocolError(
              502,
              'the target switched protocols, which the request did not offer',
            );
          }
          if (to.length !== 1 || !offered.includes(to[0]!)) {
            throw new HttpProtocolError(
              502,
              `the target switched to ${to.join(', ') || 'an unnamed protocol'}, not to what the request offered (${offered.join(', ')})`,
            );
          }
        }
        if (tap && event.framing.kind === 'upgrade') {
          const refused = tap.switched(event.head);
          if (refused !== undefined) throw new BodyRewriteError(refused);
        }
        this.responding = true;
        await write(this.client, serializeResponseHead(event.head));
        if (event.head.status >= 100 && event.head.status < 200 && event.head.status !== 101) continue;
        head = event.head;
        framing = event.framing;
        if (plan) recorder = BodyRecorder.for('response', plan, head.headers, framing, true);
        if (framing.kind === 'upgrade') {
          await this.relaySwitched(target, tap);
          return { status: 101, bytes, reusable: false, switched: true, clientKeepsAlive: false };
        }
      } else if (event.type === 'body') {
        bytes += event.bytes.length;
        if (recorder instanceof BodyRecorder) recorder.write(event.bytes);
        await write(this.client, event.bytes);
      } else if (event.type === 'end') {
        if (!head || !framing) continue;
        this.responding = false;
        const keepAlive = framing.kind !== 'close' && !closesConnection(head);
        return {
          status: head.status,
          bytes,
          reusable: keepAlive,
          switched: false,
          clientKeepsAlive: keepAlive,
          ...(recorder
            ? { responseBody: recorder instanceof BodyRecorder ? recorder.result() : recorder }
            : {}),
        };
      }
    }
  }

  /**
   * The response with its body rewritten: read whole and sent with a Content-Length, or rewritten
   * piece by piece and sent chunked (close-delimited to an HTTP/1.0 client).
   */
  private async relayRewritten(
    target: Target,
    request: RequestHead,
    rewrite: ResponseRewrite,
    plan: BodyPlan | undefined,
  ): Promise<Omit<ResponseOutcome, 'bodySent'>> {
    // What is recorded is what the client gets: the rewritten (masked) payload.
    let recorder: BodyRecorder | RecordedBody | undefined;
    const recorded = () =>
      recorder ? { responseBody: recorder instanceof BodyRecorder ? recorder.result() : recorder } : {};
    let head: ResponseHead | undefined;
    let framing: BodyFraming | undefined;
    let body: BodyRewriter | undefined;
    let decoder: ChunkedBodyDecoder | undefined;
    const held: Buffer[] = [];
    let bytes = 0;
    const chunked = request.version === '1.1';
    const send = async (payload: Buffer) => {
      if (payload.length === 0) return;
      if (recorder instanceof BodyRecorder) recorder.write(payload);
      const wire = chunked ? encodeChunk(payload) : payload;
      bytes += wire.length;
      await write(this.client, wire);
    };
    for (;;) {
      const event = await target.source.next();
      if (!event) {
        if (!head) throw new NoAnswer('the target closed the connection before answering');
        throw new Error('the target closed the connection in the middle of its response');
      }
      if (event.type === 'head') {
        const informational = event.head.status >= 100 && event.head.status < 200;
        if (informational && event.head.status !== 101) {
          await write(this.client, serializeResponseHead(event.head));
          continue;
        }
        head = event.head;
        framing = event.framing;
        if (framing.kind === 'none') {
          this.responding = true;
          await write(this.client, serializeResponseHead(head));
          continue;
        }
        const rewriter =
          framing.kind === 'upgrade'
            ? 'the response switches protocols, and what it carries could not be masked'
            : rewrite.response(head, framing);
        if (typeof rewriter === 'string') throw new BodyRewriteError(rewriter);
        body = rewriter;
        if (plan) recorder = BodyRecorder.for('response', plan, head.headers, framing, false);
        if (framing.kind === 'chunked') decoder = new ChunkedBodyDecoder();
        if (!body.whole) {
          this.responding = true;
          await write(this.client, serializeResponseHead(rewrittenHead(head, chunked ? 'chunked' : 'close')));
        }
      } else if (event.type === 'body' && body) {
        const pieces = decoder ? decoder.decode(event.bytes) : [event.bytes];
        try {
          for (const piece of pieces) {
            const out = body.write(piece);
            if (body.whole) held.push(out);
            else await send(out);
          }
        } catch (error) {
          if (!(error instanceof BodyRewriteError) || body.whole) throw error;
          // Half sent: the client gets the rewriter's last words, the response ends, the connection closes.
          if (error.tail) await send(error.tail);
          if (chunked) await write(this.client, LAST_CHUNK);
          this.responding = false;
          return {
            status: head!.status,
            bytes,
            reusable: false,
            switched: false,
            clientKeepsAlive: false,
            masked: body.masked,
            error: error.message,
            ...recorded(),
          };
        }
      } else if (event.type === 'end') {
        if (!head || !framing) continue;
        const keepAlive = framing.kind !== 'close' && !closesConnection(head);
        if (body?.whole) {
          held.push(body.end());
          const all = Buffer.concat(held);
          if (recorder instanceof BodyRecorder) recorder.write(all);
          this.responding = true;
          await write(this.client, serializeResponseHead(rewrittenHead(head, all.length)));
          bytes = all.length;
          await write(this.client, all);
        } else if (body) {
          await send(body.end());
          if (chunked) await write(this.client, LAST_CHUNK);
        }
        this.responding = false;
        return {
          status: head.status,
          bytes,
          reusable: keepAlive,
          switched: false,
          clientKeepsAlive: keepAlive && (body === undefined || body.whole || chunked),
          masked: body?.masked ?? [],
          ...recorded(),
        };
      }
    }
  }

  /** After 101 Switching Protocols: bytes both ways until both sides are done. */
  private async relaySwitched(target: Target, tap?: StreamTap): Promise<void> {
    this.requestParser.upgradeAnswered(true, this.requests.push);
    let relayed = 0;
    const pump = async (
      from: MessageSource<RequestHead> | MessageSource<ResponseHead>,
      to: Duplex,
      observe: ((bytes: Buffer) => void) | undefined,
      beforeEnd?: () => void,
    ) => {
      for (;;) {
        const event = await from.next();
        if (!event) break;
        if (event.type !== 'raw') continue;
        try {
          observe?.(event.bytes);
        } catch {
          // What the tap cannot read does not pass: the stream ends here.
          this.abort();
          return;
        }
        if (to === this.client) relayed += event.bytes.length;
        await write(to, event.bytes);
      }
      beforeEnd?.();
      if (!to.destroyed && !to.writableEnded) to.end();
    };
    try {
      await Promise.all([
        pump(this.requests, target.socket, tap && ((bytes) => tap.fromClient(bytes))),
        pump(target.source, this.client, tap && ((bytes) => tap.fromTarget(bytes)), () => {
          tap?.end();
          this.switchedEnded?.(relayed);
        }),
      ]);
    } finally {
      tap?.end();
    }
  }

  private async openTarget(fresh: boolean): Promise<Target> {
    const kept = this.target;
    if (!fresh && kept && !kept.socket.destroyed && kept.source.idle) {
      kept.reused = kept.used;
      kept.used = true;
      return kept;
    }
    this.dropTarget();
    const socket = await this.options.connect();
    // Ended while the connection was being made: it carries nothing.
    if (this.aborted) {
      socket.destroy();
      throw new Closed();
    }
    const target = this.wrapTarget(socket);
    target.used = true;
    this.target = target;
    return target;
  }

  private dropTarget(): void {
    this.target?.socket.destroy();
    this.target = undefined;
  }

  private wrapTarget(socket: Duplex): Target {
    socket.on('error', () => undefined);
    const parser = new HttpResponseParser(this.options.limits ?? DEFAULT_HTTP_LIMITS);
    // A socket made by connectWithFrameReads is read through its reads, one buffer each.
    const reads = socket instanceof Socket ? frameReadsReadable(socket) : undefined;
    return { socket, parser, source: new MessageSource(reads ?? socket, parser), used: false, reused: false };
  }

  private async reply(status: number, reply: RelayReply, close: boolean): Promise<void> {
    const headers: HttpHeader[] = [...reply.headers];
    if (close) headers.push(['Connection', 'close']);
    await write(this.client, serializeResponse(status, REASONS[status] ?? 'Error', headers, reply.body));
  }
}
