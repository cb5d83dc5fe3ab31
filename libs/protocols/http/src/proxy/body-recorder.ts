import type { BodyCapture } from '@tollgate/policy';
import { recordsContentType } from '@tollgate/policy';
import { ChunkedBodyDecoder } from '../chunked-body.decoder';
import { headerTokens, headerValue, type BodyFraming, type HttpHeader } from '../http-messages';

export type BodyDirection = 'request' | 'response';

/** What one request records of its bodies (the session's `bodies`, narrowed by the protocol). */
export interface BodyPlan {
  /** A string: why this direction's body is not recorded whatever it holds (a masked resource). */
  readonly request?: BodyCapture | string;
  readonly response?: BodyCapture | string;
  /** The agent's credential values: never recorded (a target may echo the headers it got). */
  readonly secrets?: readonly string[];
}

/** What was recorded of one body: its text (unmasked yet: the command port masks it), or why not. */
export interface RecordedBody {
  readonly text?: string;
  readonly truncated?: boolean;
  readonly note?: string;
}

/**
 * How far past max_bytes a truncated body is read: the session's masks run on the longer text, and
 * the command port cuts the masked text to max_bytes (see CommandResultReport), so a value that
 * crosses the cut (an e-mail address, a card number) is masked whole rather than recorded in part,
 * in a form its detector no longer matches.
 */
export const TRUNCATION_MARGIN_BYTES = 1024;

/**
 * Control characters other than tab, LF and CR (C0, DEL and C1, which terminals act on): text with
 * them is binary, not recorded.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/**
 * Copies the first `maxBytes` of a body's payload as it is relayed (never holding the relay, never
 * changing what it relays) and reads them as text at the end. Fail closed: a body whose content type
 * the policy does not name, that is compressed, or that is not UTF-8 text is not recorded at all, and
 * says why.
 */
export class BodyRecorder {
  private readonly pieces: Buffer[] = [];
  private size = 0;
  private truncated = false;
  private broken = false;
  private readonly decoder: ChunkedBodyDecoder | undefined;

  private constructor(
    private readonly direction: BodyDirection,
    maxBytes: number,
    /** Whether `write` gets wire bytes with chunk framing (else the payload itself). */
    chunked: boolean,
    private readonly secrets: readonly string[],
  ) {
    this.decoder = chunked ? new ChunkedBodyDecoder() : undefined;
    this.keep = maxBytes + TRUNCATION_MARGIN_BYTES;
    this.maxBytes = maxBytes;
  }

  private readonly keep: number;
  private readonly maxBytes: number;

  /**
   * A recorder for a message's body under `capture`; a note when the body is not recorded (its
   * content type, its compression), undefined when there is nothing to record (no capture, no body).
   */
  static for(
    direction: BodyDirection,
    plan: BodyPlan,
    headers: readonly HttpHeader[],
    framing: BodyFraming,
    wire: boolean,
  ): BodyRecorder | RecordedBody | undefined {
    const capture = plan[direction];
    if (!capture) return undefined;
    if (framing.kind === 'none' || framing.kind === 'upgrade') return undefined;
    if (framing.kind === 'length' && framing.length === 0) return undefined;
    if (typeof capture === 'string') return { note: `${direction}: body not recorded (${capture})` };
    const encodings = headerTokens(headers, 'content-encoding').filter((coding) => coding !== 'identity');
    if (encodings.length > 0) {
      return { note: `${direction}: ${encodings.join(', ')}-encoded body not recorded` };
    }
    const type = headerValue(headers, 'content-type');
    if (!recordsContentType(capture, type)) {
      const named = type?.split(';')[0]?.trim().toLowerCase();
      return {
        note: named
          ? `${direction}: ${named} body not recorded (content type)`
          : `${direction}: body without a content type not recorded`,
      };
    }
    return new BodyRecorder(
      direction,
      capture.maxBytes,
      wire && framing.kind === 'chunked',
      plan.secrets ?? [],
    );
  }

  /** The next bytes of the body; cheap once max_bytes are held (nothing more is decoded or kept). */
  write(bytes: Buffer): void {
    if (this.truncated || this.broken) return;
    let payload: Buffer[];
    try {
      payload = this.decoder ? this.decoder.decode(bytes) : [bytes];
    } catch {
      // The relay's own parser accepted the framing; whatever this is, it is not recorded.
      this.broken = true;
      return;
    }
    for (const piece of payload) {
      const room = this.keep - this.size;
      if (piece.length > room) {
        if (room > 0) this.pieces.push(Buffer.from(piece.subarray(0, room)));
        this.size = this.keep;
        this.truncated = true;
        return;
      }
      this.pieces.push(Buffer.from(piece));
      this.size += piece.length;
    }
  }

  /**
   * What is recorded: the text, or why nothing is. A body over max_bytes is `truncated`, its text
   * running on TRUNCATION_MARGIN_BYTES past it, to be cut after masking.
   */
  result(): RecordedBody {
    if (this.broken) return { note: `${this.direction}: body not recorded (its framing could not be read)` };
    if (this.size === 0) return {};
    let text: string;
    try {
      // A truncated body may end inside a character: `stream` leaves that character out.
      text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(this.pieces), {
        stream: this.truncated,
      });
    } catch {
      return { note: `${this.direction}: body not recorded (not UTF-8 text)` };
    }
    if (CONTROL.test(text)) return { note: `${this.direction}: body not recorded (binary)` };
    text = withoutSecrets(text, this.secrets, this.truncated);
    // Exactly max_bytes and no more is not truncated.
    if (this.truncated || this.size > this.maxBytes) return { text, truncated: true };
    return { text };
  }
}

/**
 * The text with each of the agent's credential values replaced by `[credential]`; a cut text also
 * loses an end that starts one (what a cut left of a token is still part of the token).
 */
export function withoutSecrets(text: string, secrets: readonly string[], cut: boolean): string {
  let out = text;
  for (const secret of secrets) out = out.replaceAll(secret, '[credential]');
  if (!cut) return out;
  for (const secret of secrets) {
    for (let length = Math.min(secret.length - 1, out.length); length > 0; length--) {
      if (out.endsWith(secret.slice(0, length))) {
        out = out.slice(0, out.length - length);
        break;
      }
    }
  }
  return out;
}

/** A result's body fields from what each direction recorded. */
export function bodyFields(
  request: RecordedBody | undefined,
  response: RecordedBody | undefined,
): {
  requestBody?: string;
  responseBody?: string;
  bodyTruncated?: string[];
  bodyNotes?: string[];
} {
  const truncated = [
    ...(request?.truncated && request.text ? ['request'] : []),
    ...(response?.truncated && response.text ? ['response'] : []),
  ];
  const notes = [...(request?.note ? [request.note] : []), ...(response?.note ? [response.note] : [])];
  return {
    ...(request?.text ? { requestBody: request.text } : {}),
    ...(response?.text ? { responseBody: response.text } : {}),
    ...(truncated.length ? { bodyTruncated: truncated } : {}),
    ...(notes.length ? { bodyNotes: notes } : {}),
  };
}
