export type {
  AccessRequestRule,
  AllowRule,
  ApprovalRule,
  AuditMode,
  AuditRule,
  BodyCapture,
  BodyRecording,
  BodyRecordingRule,
  CommandMatchers,
  DenyRule,
  Detector,
  Guardrail,
  HttpMatcher,
  KubernetesMasking,
  KubernetesMatcher,
  MaskingRule,
  Match,
  Policy,
  PolicyMetadata,
  Role,
  SessionLimits,
} from './policy.types';
export type { ConnectionContext, SubjectContext } from './context.types';
export {
  BUILTIN_DETECTORS,
  CONNECTION_VERBS,
  EXEC_PROTOCOLS,
  OPAQUE_KINDS,
  PROTOCOLS,
  READ_ONLY_STATEMENTS,
  selectorCovers,
  statementFamily,
  STATEMENT_GROUPS,
  STATEMENT_TYPES,
  VERBS,
  type BuiltinDetector,
  type OpaqueKind,
  type Protocol,
  type StatementGroup,
  type StatementSelector,
  type StatementType,
  type Verb,
} from './vocabulary';
export { parsePolicy, formatPolicyError, type ParsePolicyResult, type PolicyError } from './parse-policy';
export { parseDuration, formatDuration } from './duration';
export { DEFAULT_POLICY, DEFAULT_POLICY_YAML } from './default-policy';
export {
  evaluateAccess,
  maxDelegationDepth,
  verbReach,
  type AccessDecision,
  type AccessGrant,
  type EvaluateAccessOptions,
} from './access.engine';
export { subjectMatches, connectionMatches } from './selectors';
export type {
  CommandFacts,
  HttpCommandFacts,
  KubernetesCommandFacts,
  SqlCommandFacts,
  SqlStatementFacts,
  SqlLineageFacts,
  LineageColumn,
  SshCommandFacts,
} from './command-facts';
export {
  decideCommand,
  READ_ONLY_RULE,
  type ApprovalRequirement,
  type CommandContext,
  type CommandDecision,
} from './command.engine';
export {
  kubernetesMaskedFields,
  kubernetesMaskingDenial,
  maskingRulesFor,
  NO_MASKING,
  type KubernetesMaskingRule,
  type MaskingRules,
} from './masking-rules';
export { auditModeFor, bodyRecordingFor, recordsContentType } from './audit-mode';
export {
  accessRequestRequirement,
  accessRequestRulesFor,
  approvalsSatisfied,
  canReview,
  checkAccessRequest,
  type AccessRequestCheck,
  type AccessRequestInput,
  type ReviewRequirement,
} from './access-requests';
export {
  diffPolicies,
  sessionsAffected,
  type LiveSession,
  type PolicyChange,
  type PolicySection,
  type SessionImpact,
  type SessionImpactKind,
} from './policy-impact';
export { policyJsonSchema } from './policy-json-schema';
export { columnGlobMatches, masks as maskingRuleCovers } from './lineage-denial';
export { administratorsAmong, lockOutProblem, withAdministratorRole } from './administrators';
export { DEFAULT_SSH_ENV, envNameAllowed, sshEnvAllowlist } from './ssh-env';
export { readShellCommand, type ShellCommandReading } from './shell-command-reading';
