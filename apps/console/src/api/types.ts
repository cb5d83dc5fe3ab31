// What the gateway's API returns, as the console reads it (see /api/v1/openapi.json).

export type Verb = 'connect' | 'exec' | 'admin' | 'audit:read' | 'review';
export type ConnectionVerb = 'connect' | 'exec';

export interface Me {
  readonly subject: string;
  readonly displayName: string;
  readonly groups: readonly string[];
  readonly scopes: readonly string[];
  readonly expiresAt: string;
}

export interface CallerConnection {
  readonly name: string;
  readonly protocol: string;
  readonly description: string | null;
  readonly tags: Record<string, string>;
  readonly verbs: ConnectionVerb[];
  readonly requestable: ConnectionVerb[];
  readonly grantExpiresAt: string | null;
}

export interface CallerAccess {
  readonly subject: string;
  readonly displayName: string;
  readonly verbs: Verb[];
  readonly connections: CallerConnection[];
}

export interface GatewayInfo {
  readonly version: string;
  readonly publicUrl: string;
  readonly grpcUrl: string;
}

export interface Connection {
  readonly id: string;
  readonly name: string;
  readonly protocol: string;
  readonly description: string | null;
  readonly tags: Record<string, string>;
  readonly target: Record<string, unknown>;
  readonly credential: Record<string, string>;
  readonly agents: { id: string; name: string }[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface RoleReach {
  readonly role: string;
  readonly subjects: readonly string[];
  readonly verbs: ConnectionVerb[];
  readonly readOnly: boolean;
}

export interface ConnectionReach {
  readonly connection: string;
  readonly policyVersion: number | null;
  readonly roles: RoleReach[];
  readonly subjects: {
    subject: string;
    displayName: string;
    kind: 'user' | 'service-account';
    verbs: ConnectionVerb[];
    via: string[];
  }[];
  readonly grants: { id: string; subject: string; verb: string; expiresAt: string }[];
  readonly truncated: boolean;
}

export interface ConnectionTest {
  readonly connection: string;
  readonly reachable: boolean;
  readonly outcome: string;
  readonly message: string;
  readonly agent: string | null;
  readonly sessionId: string | null;
  readonly serverVersion: string | null;
  readonly ms: number;
}

export interface Agent {
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  readonly labels: Record<string, string>;
  readonly status: 'online' | 'offline';
  readonly version: string | null;
  readonly hostname: string | null;
  readonly lastSeenAt: string | null;
  readonly bundleVersion: string | null;
  readonly policyVersion: number | null;
  readonly connections: { id: string; name: string }[];
  readonly createdAt: string;
}

export interface ActivePolicy {
  readonly version: number | null;
  readonly source: 'built-in' | 'quickstart' | 'stored';
  readonly document: string;
}

export interface PolicyVersionSummary {
  readonly version: number;
  readonly author: string;
  readonly comment: string | null;
  readonly sha256: string;
  readonly active: boolean;
  readonly createdAt: string;
}

export interface PolicyChange {
  readonly section: string;
  readonly name?: string;
  readonly change: 'added' | 'removed' | 'changed';
}

export interface PolicyVersionDetail extends PolicyVersionSummary {
  readonly document: string;
  readonly previousVersion: number | null;
  readonly changes: PolicyChange[];
  readonly diff: string;
}

export interface DryRun {
  readonly activeVersion: number | null;
  readonly changes: PolicyChange[];
  readonly diff: string;
  readonly sessions: {
    sessionId: string;
    impacts: string[];
    reason?: string;
    subject: string;
    connection: string;
  }[];
}

export interface Session {
  readonly id: string;
  readonly state: 'opening' | 'open' | 'closed';
  readonly subject: string;
  readonly actorChain: unknown;
  readonly connection: string;
  readonly protocol: string;
  readonly agent: string | null;
  readonly clientAddr: string | null;
  readonly policyVersion: number | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly closeReason: string | null;
}

export interface SessionEvent {
  readonly seq: number;
  readonly kind: string;
  readonly at: string;
  readonly event: Record<string, unknown>;
  readonly hash: string;
}

export interface Review {
  readonly id: string;
  readonly kind: 'access' | 'command';
  readonly state: 'pending' | 'approved' | 'rejected' | 'expired';
  readonly requester: string;
  readonly connection: string;
  readonly verb: string | null;
  readonly durationSeconds: number | null;
  readonly reason: string | null;
  readonly sessionId: string | null;
  readonly command: string | null;
  readonly rule: string;
  readonly approvers: readonly string[];
  readonly minApprovals: number;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly decidedAt: string | null;
  readonly grantExpiresAt: string | null;
  readonly decisions: readonly { reviewer: string; decision: string; comment: string | null; at: string }[];
}

export interface AuditEntry {
  readonly seq: string;
  readonly at: string;
  readonly subject: string;
  readonly actorChain: unknown;
  readonly action: string;
  readonly target: string | null;
  readonly decision: string;
  readonly reason: string | null;
  readonly payload: Record<string, unknown> | null;
  readonly hash: string;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly global: { count: number; head: { seq: number; hash: string } };
  readonly sessions: { checked: number; events: number };
  readonly faults: { chain: string; seq: number; rowId?: string; reason: string; detail: string }[];
}

export interface User {
  readonly id: string;
  readonly subject: string;
  readonly email: string | null;
  readonly displayName: string | null;
}

export interface StatementResult {
  readonly columns: string[];
  readonly rows: (string | null)[][];
  readonly tag: string;
  readonly truncated?: boolean;
  readonly error?: { code: string; message: string; detail?: string };
}

export type QueryEvent =
  | { type: 'session'; sessionId: string; agent: string }
  | { type: 'notice'; message: string }
  | ({ type: 'result' } & StatementResult)
  | { type: 'done'; statements: number; failed: number; ms: number }
  | { type: 'error'; message: string };
