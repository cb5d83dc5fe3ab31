import {
  BodyRewriteError,
  headerTokens,
  headerValue,
  type BodyRewriter,
  type HttpHeader,
  type RequestHead,
  type ResponseHead,
  type ResponseRewrite,
} from '@tollgate/protocol-http';
import { JsonObjectSplitter } from './json-object-splitter';
import { maskKubernetesResponse } from './object-masking';

/** The largest response (or watch event) read whole to be masked; a larger one is refused. */
export const MAX_MASKED_BODY_BYTES = 64 * 1024 * 1024;

export interface MaskedFields {
  readonly fields: readonly string[];
  /** The masking rules, named in the audit record and in refusals. */
  readonly rules: readonly string[];
  /**
   * Whether the API server's Table cells for this resource are relayed as printed: only for its own
   * printers known to print none of the masked fields; otherwise each cell but the name is masked.
   */
  readonly tableCellsKept?: boolean;
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;

/**
 * Accept narrowed to JSON media ranges (kubectl's Table form included), so the API server answers
 * in a form that can be masked: protobuf and YAML are never asked for.
 */
function jsonAccept(headers: readonly HttpHeader[]): string {
  // Parameters keep their case (the API server reads `as=Table` as written).
  const ranges = headers
    .filter(([name]) => name.toLowerCase() === 'accept')
    .flatMap(([, value]) => value.split(','))
    .map((range) => range.trim())
    .filter((range) => JSON_TYPE.test(range));
  return ranges.length > 0 ? ranges.join(', ') : 'application/json';
}

/**
 * Responses to requests on a masked resource (Secrets) with the masked fields' values replaced:
 * objects, lists, Tables and watch events. The request asks for JSON without content coding, and a
 * response in any other form (protobuf, YAML, gzip, a protocol switch) or one that does not parse is
 * refused: the client gets a Status saying so, never the unmasked body.
 */
export function maskedResponseRewrite(masked: MaskedFields, watch: boolean): ResponseRewrite {
  const named = masked.rules.map((rule) => `"${rule}"`).join(', ');
  const refusal = (why: string) => `${why}; masking rule ${named} masks this resource's values`;
  return {
    request: (head: RequestHead): RequestHead => {
      const headers: HttpHeader[] = head.headers.filter(([name]) => {
        const lower = name.toLowerCase();
        return lower !== 'accept' && lower !== 'accept-encoding';
      });
      headers.push(['Accept', jsonAccept(head.headers)], ['Accept-Encoding', 'identity']);
      return { ...head, headers };
    },
    response: (head: ResponseHead): BodyRewriter | string => {
      const type = headerValue(head.headers, 'content-type') ?? '';
      if (!JSON_TYPE.test(type)) {
        return refusal(
          `the API server answered in ${type || 'an undeclared media type'}, which cannot be masked`,
        );
      }
      const coding = headerTokens(head.headers, 'content-encoding').filter((c) => c !== 'identity');
      if (coding.length > 0)
        return refusal(`the API server answered ${coding.join(', ')}-encoded, which is not masked`);
      return watch ? new MaskedWatch(masked, refusal) : new MaskedBody(masked, refusal);
    },
  };
}

/** A whole JSON response (get, list, create, delete...), read up to MAX_MASKED_BODY_BYTES. */
class MaskedBody implements BodyRewriter {
  readonly whole = true;
  private readonly pieces: Buffer[] = [];
  private size = 0;
  masked: readonly string[] = [];

  constructor(
    private readonly fields: MaskedFields,
    private readonly refusal: (why: string) => string,
  ) {}

  write(payload: Buffer): Buffer {
    this.size += payload.length;
    if (this.size > MAX_MASKED_BODY_BYTES) {
      throw new BodyRewriteError(
        this.refusal(
          `the response is larger than ${MAX_MASKED_BODY_BYTES} bytes (ask for fewer with --chunk-size or limit=)`,
        ),
      );
    }
    this.pieces.push(Buffer.from(payload));
    return EMPTY;
  }

  end(): Buffer {
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(this.pieces).toString('utf8'));
    } catch {
      throw new BodyRewriteError(this.refusal('the response is not valid JSON'));
    }
    let count: number;
    try {
      count = maskKubernetesResponse(body, this.fields.fields, this.fields.tableCellsKept);
    } catch (error) {
      throw new BodyRewriteError(this.refusal(`the response could not be read: ${(error as Error).message}`));
    }
    if (count > 0) this.masked = this.fields.rules;
    return Buffer.from(JSON.stringify(body));
  }
}

/** A watch: each event masked as it arrives and sent on at once. */
class MaskedWatch implements BodyRewriter {
  readonly whole = false;
  private readonly splitter = new JsonObjectSplitter(MAX_MASKED_BODY_BYTES);
  masked: readonly string[] = [];

  constructor(
    private readonly fields: MaskedFields,
    private readonly refusal: (why: string) => string,
  ) {}

  write(payload: Buffer): Buffer {
    let events: Buffer[];
    try {
      events = this.splitter.push(payload);
    } catch (error) {
      throw this.cut(`the watch could not be read: ${(error as Error).message}`);
    }
    const out: Buffer[] = [];
    for (const event of events) {
      let parsed: unknown;
      let count: number;
      try {
        parsed = JSON.parse(event.toString('utf8'));
        count = maskKubernetesResponse(parsed, this.fields.fields, this.fields.tableCellsKept);
      } catch (error) {
        throw this.cut(`a watch event could not be read: ${(error as Error).message}`);
      }
      if (count > 0) this.masked = this.fields.rules;
      out.push(Buffer.from(`${JSON.stringify(parsed)}\n`));
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  end(): Buffer {
    if (!this.splitter.idle) throw this.cut('the watch ended in the middle of an event');
    return EMPTY;
  }

  /** The watch ends with an ERROR event, as the API server ends one it cannot go on with. */
  private cut(why: string): BodyRewriteError {
    const message = `tollgate: ${this.refusal(why)}`;
    const status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason: 'InternalError',
      code: 500,
    };
    return new BodyRewriteError(
      message,
      Buffer.from(`${JSON.stringify({ type: 'ERROR', object: status })}\n`),
    );
  }
}

const EMPTY = Buffer.alloc(0);
