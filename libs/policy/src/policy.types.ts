import type { BuiltinDetector, Protocol, StatementSelector, Verb, WhereStatement } from './vocabulary';

/**
 * A validated policy document, normalized: defaults filled in, durations in seconds, keys in
 * camelCase. Plain data (no class instances, no compiled regexes), so it can be serialized and
 * pushed to agents as is. The YAML reference is docs/policy.md.
 */
export interface Policy {
  /** Schema version of the document (not the stored revision, which the gateway numbers). */
  readonly version: 1;
  readonly metadata: PolicyMetadata;
  readonly roles: readonly Role[];
  readonly guardrails: readonly Guardrail[];
  readonly masking: readonly MaskingRule[];
  readonly accessRequests: readonly AccessRequestRule[];
  /** Where each command's audit event is made durable before the command runs; see auditModeFor. */
  readonly audit: readonly AuditRule[];
  readonly delegation: { readonly maxDepth: number };
  readonly sessions: SessionLimits;
}

/**
 * `edge`: the agent appends each command's event to its local hash-chained journal (fdatasync)
 * before forwarding, and ships the journal to the gateway; `gateway` (strict): the gateway commits
 * the event to its audit log before the agent forwards the command.
 */
export type AuditMode = 'edge' | 'gateway';

export interface AuditRule {
  readonly name: string;
  readonly description?: string;
  readonly match: Match;
  /** `edge` when the rule only says what bodies to record. */
  readonly mode: AuditMode;
  /** Which HTTP message bodies the sessions it matches record (http and kubernetes connections). */
  readonly bodies?: BodyRecordingRule;
}

/** An audit rule's `bodies`: which bodies of http and kubernetes requests are recorded, and how much. */
export interface BodyRecordingRule {
  readonly request: boolean;
  readonly response: boolean;
  /** The most bytes of each body recorded (the first ones); at most BODY_MAX_BYTES_LIMIT. */
  readonly maxBytes: number;
  /** Media types (globs, lower case, no parameters) whose bodies are recorded. */
  readonly contentTypes: readonly string[];
}

/** What a session records of one direction's bodies. */
export interface BodyCapture {
  readonly maxBytes: number;
  readonly contentTypes: readonly string[];
}

/** What a session records of HTTP bodies (see bodyRecordingFor); a direction absent is not recorded. */
export interface BodyRecording {
  readonly request?: BodyCapture;
  readonly response?: BodyCapture;
}

export interface PolicyMetadata {
  readonly name?: string;
  readonly description?: string;
  readonly owner?: string;
}

export interface SessionLimits {
  readonly maxDurationSeconds: number;
  readonly readOnly: boolean;
}

export interface Role {
  readonly name: string;
  readonly description?: string;
  /** `user:<id|email>`, `group:<name>`, `sa:<name>` (globs allowed) or `*`. */
  readonly subjects: readonly string[];
  /** Connection name (glob), `tag:key=value` (value may be a glob) or `*`. */
  readonly connections: readonly string[];
  readonly verbs: readonly Verb[];
  readonly maxDurationSeconds?: number;
  readonly readOnly: boolean;
}

/** Which sessions a guardrail or masking rule applies to; an absent field matches everything. */
export interface Match {
  readonly connections?: readonly string[];
  readonly protocols?: readonly Protocol[];
  readonly subjects?: readonly string[];
}

export interface KubernetesMatcher {
  readonly verbs?: readonly string[];
  /** Globs over `resource` or `resource/subresource`: `pods`, `pods/exec`, `pods/*`, `secrets`, `*`. As in Kubernetes RBAC, `pods` does not cover `pods/exec`; `*` covers everything. */
  readonly resources?: readonly string[];
  readonly namespaces?: readonly string[];
  /** Globs over the API group (`""` is the core group, `apps`, `*.k8s.io`). */
  readonly groups?: readonly string[];
  /** Globs over the object's name; a request without a name (list, create) is covered. */
  readonly names?: readonly string[];
}

export interface HttpMatcher {
  readonly methods?: readonly string[];
  readonly paths?: readonly string[];
}

/** What a deny or require_approval block catches. A command is caught when any matcher catches it. */
export interface CommandMatchers {
  readonly statements?: readonly StatementSelector[];
  /** Narrows `statements` to statements touching a matching table (glob, `schema.table` or `table`). */
  readonly tables?: readonly string[];
  /** Regular expressions (JavaScript syntax) tested against an SSH command line. */
  readonly commands?: readonly string[];
  readonly kubernetes?: KubernetesMatcher;
  readonly http?: HttpMatcher;
}

export interface DenyRule extends CommandMatchers {
  readonly message?: string;
}

export interface ApprovalRule extends CommandMatchers {
  readonly approvers: readonly string[];
  readonly minApprovals: number;
  readonly timeoutSeconds: number;
  readonly message?: string;
}

/** What a guardrail lets through that would otherwise be refused. */
export interface AllowRule {
  /** Kinds of opaque code (OPAQUE_KINDS, or `*` for all) the sessions it matches may run. */
  readonly opaque?: readonly string[];
  /**
   * Environment variables an SSH client may pass to the target in the sessions it matches (names,
   * `PREFIX*`, or `*`); see sshEnvAllowlist.
   */
  readonly env?: readonly string[];
}

export interface Guardrail {
  readonly name: string;
  readonly description?: string;
  readonly match: Match;
  readonly deny?: DenyRule;
  readonly requireApproval?: ApprovalRule;
  readonly requireWhere?: readonly WhereStatement[];
  readonly allow?: AllowRule;
}

export type Detector =
  | { readonly kind: 'builtin'; readonly name: BuiltinDetector }
  | { readonly kind: 'custom'; readonly name: string; readonly pattern: string };

export interface MaskingRule {
  readonly name: string;
  readonly match: Match;
  readonly detectors: readonly Detector[];
  /** `table.column` or `schema.table.column` globs. */
  readonly columns: readonly string[];
  /**
   * An output made from a masked column other than as a plain reference (a cast, a function, a
   * whole row, an aggregate, or untraced): masked whole (`mask`) or the statement denied (`deny`).
   */
  readonly onDerived: 'mask' | 'deny';
  /** Filtering, joining, grouping or ordering on a masked column (inference): `allow` or `deny`. */
  readonly predicates: 'allow' | 'deny';
  /** Kubernetes objects whose fields' values are masked in API responses (Secrets' `data`). */
  readonly kubernetes?: KubernetesMasking;
}

/** Which objects of a Kubernetes API a masking rule masks, and which of their fields. */
export interface KubernetesMasking {
  /** Globs over the resource (`secrets`), as in kubernetes matchers. */
  readonly resources: readonly string[];
  /** Globs over the API group (`""` is the core group); absent means any group. */
  readonly groups?: readonly string[];
  /**
   * Top-level fields of each object: a map's every value is masked (its keys stay), any other value
   * is masked whole. Default `data` and `stringData`.
   */
  readonly fields: readonly string[];
}

export interface AccessRequestRule {
  readonly name: string;
  readonly description?: string;
  /** Who may ask. */
  readonly requesters: readonly string[];
  readonly connections: readonly string[];
  readonly verbs: readonly Verb[];
  readonly reviewers: readonly string[];
  readonly minApprovals: number;
  /** The longest grant a request under this rule may ask for. */
  readonly maxDurationSeconds: number;
  readonly readOnly: boolean;
}
