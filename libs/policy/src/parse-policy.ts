import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { z } from 'zod';
import { parseDuration } from './duration';
import { allowedKeysAt, closestKey } from './key-suggestion';
import { policyDocumentSchema, type PolicyDocument } from './policy.schema';
import type { Detector, Match, Policy } from './policy.types';

/** One problem in a policy document. `path` is `''` for the document itself. */
export interface PolicyError {
  readonly file: string;
  /** Where inside the document: `guardrails[1].deny.statements[0]`. */
  readonly path: string;
  /** 1-based position in the YAML source, when the problem can be located there. */
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

export type ParsePolicyResult =
  | { readonly ok: true; readonly policy: Policy }
  | { readonly ok: false; readonly errors: readonly PolicyError[] };

/** `policy.yaml:12:7: guardrails[1].deny.statements[0]: Invalid option: ...` */
export function formatPolicyError(error: PolicyError): string {
  const where = error.line === undefined ? error.file : `${error.file}:${error.line}:${error.column ?? 1}`;
  return error.path === '' ? `${where}: ${error.message}` : `${where}: ${error.path}: ${error.message}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

/**
 * Parses and validates a policy document. Never throws: malformed YAML, a wrong shape, an unknown
 * key and an invalid value all come back as errors naming the file, the path and the position.
 */
export function parsePolicy(text: string, fileName: string): ParsePolicyResult {
  try {
    return parse(text, fileName);
  } catch (error) {
    // The YAML library and zod are not expected to throw on any input; if one does, the policy is
    // rejected rather than half-applied.
    const message = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      errors: [{ file: fileName, path: '', message: `could not read the policy: ${message}` }],
    };
  }
}

function parse(text: string, file: string): ParsePolicyResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => ({
        file,
        path: '',
        ...position(e.pos[0]),
        message: firstLine(e.message),
      })),
    };
  }
  // The default alias limit (100) stops "billion laughs" expansion.
  const raw: unknown = doc.toJS();
  if (raw === null || raw === undefined) {
    return {
      ok: false,
      errors: [
        { file, path: '', message: 'the document is empty; expected a policy (version: 1, roles, ...)' },
      ],
    };
  }

  const result = policyDocumentSchema.safeParse(raw);
  if (!result.success) {
    const errors = result.error.issues.flatMap((issue) =>
      issueToErrors(issue, file, doc.contents, position, raw),
    );
    return { ok: false, errors: sortErrors(errors) };
  }
  return { ok: true, policy: normalize(result.data) };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

type Position = { line: number; column: number };

function issueToErrors(
  issue: z.core.$ZodIssue,
  file: string,
  root: Node | null,
  position: (offset: number) => Position,
  raw: unknown,
): PolicyError[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      const at = locate(root, path, true);
      return {
        file,
        path: formatPath(path),
        ...(at === undefined ? {} : position(at)),
        message: unknownKeyMessage(key, allowedKeysAt(policyDocumentSchema, issue.path)),
      };
    });
  }
  const at = locate(root, issue.path, false);
  return [
    {
      file,
      path: formatPath(issue.path),
      ...(at === undefined ? {} : position(at)),
      message: missingKeyMessage(issue, raw) ?? issue.message,
    },
  ];
}

/** A key left out where one is required: said as such, not as "expected array, received undefined". */
function missingKeyMessage(issue: z.core.$ZodIssue, raw: unknown): string | undefined {
  if (issue.code !== 'invalid_type' || issue.path.length === 0) return undefined;
  let parent: unknown = raw;
  for (const key of issue.path.slice(0, -1)) {
    if (typeof parent !== 'object' || parent === null) return undefined;
    parent = (parent as Record<PropertyKey, unknown>)[key];
  }
  const key = issue.path.at(-1)!;
  if (typeof parent !== 'object' || parent === null || Array.isArray(parent) || key in parent)
    return undefined;
  return `"${String(key)}" is required here (${issue.expected === 'array' ? 'a list' : `a ${issue.expected}`})`;
}

function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const suggestion = closestKey(key, allowed);
  const hint = suggestion ? `did you mean "${suggestion}"?` : `expected one of ${allowed.join(', ')}`;
  return `unknown key "${key}": ${hint} (a misspelt key could silently change the policy, so it is an error)`;
}

/**
 * The source offset of the node at `path`, or of its nearest existing ancestor (a missing required
 * key is reported where its parent object is). With `preferKey`, the offset of the key itself.
 */
function locate(root: Node | null, path: readonly PropertyKey[], preferKey: boolean): number | undefined {
  let node: unknown = root;
  let best: number | undefined = rangeStart(root);
  for (const [i, segment] of path.entries()) {
    let next: unknown;
    let keyNode: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === segment);
      keyNode = pair?.key;
      next = pair?.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    const isLast = i === path.length - 1;
    if (isLast && preferKey && keyNode !== undefined) return rangeStart(keyNode) ?? best;
    if (next === undefined || next === null) return rangeStart(keyNode) ?? best;
    best = rangeStart(next) ?? rangeStart(keyNode) ?? best;
    node = next;
  }
  return best;
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as { range?: readonly number[] | null }).range;
    return range?.[0];
  }
  return undefined;
}

function sortErrors(errors: PolicyError[]): PolicyError[] {
  return errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function seconds(text: string): number {
  const value = parseDuration(text);
  if (value === null) throw new Error(`validated duration did not parse: ${text}`);
  return value;
}

function normalizeMatch(match: PolicyDocument['guardrails'][number]['match']): Match {
  const protocols = match.protocol === undefined ? undefined : [match.protocol].flat();
  return {
    ...(match.connections && { connections: match.connections }),
    ...(protocols && { protocols }),
    ...(match.subjects && { subjects: match.subjects }),
  };
}

function normalize(doc: PolicyDocument): Policy {
  return {
    version: 1,
    metadata: doc.metadata,
    roles: doc.roles.map((r) => ({
      name: r.name,
      ...(r.description !== undefined && { description: r.description }),
      subjects: r.subjects,
      connections: r.connections ?? [],
      verbs: r.verbs,
      ...(r.max_duration !== undefined && { maxDurationSeconds: seconds(r.max_duration) }),
      readOnly: r.read_only,
    })),
    guardrails: doc.guardrails.map((g) => {
      const approval = g.require_approval;
      return {
        name: g.name,
        ...(g.description !== undefined && { description: g.description }),
        match: normalizeMatch(g.match),
        ...(g.deny && { deny: g.deny }),
        ...(approval && {
          requireApproval: {
            ...(approval.statements && { statements: approval.statements }),
            ...(approval.tables && { tables: approval.tables }),
            ...(approval.commands && { commands: approval.commands }),
            ...(approval.kubernetes && { kubernetes: approval.kubernetes }),
            ...(approval.http && { http: approval.http }),
            ...(approval.message !== undefined && { message: approval.message }),
            approvers: approval.approvers,
            minApprovals: approval.min_approvals,
            timeoutSeconds: seconds(approval.timeout),
          },
        }),
        ...(g.require_where && { requireWhere: g.require_where }),
        ...(g.allow && {
          allow: {
            ...(g.allow.opaque && { opaque: g.allow.opaque }),
            ...(g.allow.env && { env: g.allow.env }),
          },
        }),
      };
    }),
    masking: doc.masking.map((m, index) => ({
      name: m.name ?? `masking[${index}]`,
      match: normalizeMatch(m.match),
      detectors: (m.detectors ?? []).map((d): Detector =>
        typeof d === 'string'
          ? { kind: 'builtin', name: d }
          : { kind: 'custom', name: d.name, pattern: d.pattern },
      ),
      columns: m.columns ?? [],
      onDerived: m.on_derived,
      predicates: m.predicates,
      ...(m.kubernetes
        ? {
            kubernetes: {
              resources: m.kubernetes.resources,
              ...(m.kubernetes.groups ? { groups: m.kubernetes.groups } : {}),
              fields: m.kubernetes.fields,
            },
          }
        : {}),
    })),
    accessRequests: doc.access_requests.map((a) => ({
      name: a.name,
      ...(a.description !== undefined && { description: a.description }),
      requesters: a.requesters,
      connections: a.connections,
      verbs: a.verbs,
      reviewers: a.reviewers,
      minApprovals: a.min_approvals,
      maxDurationSeconds: seconds(a.max_duration),
      readOnly: a.read_only,
    })),
    audit: doc.audit.map((a) => ({
      name: a.name,
      ...(a.description !== undefined && { description: a.description }),
      match: normalizeMatch(a.match),
      mode: a.mode ?? 'edge',
      ...(a.bodies && {
        bodies: {
          request: a.bodies.request,
          response: a.bodies.response,
          maxBytes: a.bodies.max_bytes,
          contentTypes: a.bodies.content_types.map((type) => type.toLowerCase()),
        },
      }),
    })),
    delegation: { maxDepth: doc.delegation.max_depth },
    sessions: { maxDurationSeconds: seconds(doc.sessions.max_duration), readOnly: doc.sessions.read_only },
  };
}
