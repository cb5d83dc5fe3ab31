import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { CERTIFICATE_FINGERPRINT_EXPECTED, certificateFingerprint } from './certificate-fingerprint';
import { ConfigError } from './config.error';
import { readSettings, type Environment, type SettingOverrides, type SettingValues } from './config-source';
import { logFormat, logLevel, positiveInt } from './setting-schemas';
import { isLoopbackHost, tunnelEndpoint } from './tunnel-endpoint';

const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')])
  .default(false);

/** Settings of `tollgate agent`. */
export const agentSettings = {
  gateway: {
    env: 'TOLLGATE_AGENT_GATEWAY',
    flag: '--gateway',
    schema: tunnelEndpoint,
    expected: 'the gateway gRPC URL, https://host:port (TLS) or http://host:port (loopback or --insecure)',
  },
  token: {
    env: 'TOLLGATE_AGENT_TOKEN',
    secret: true,
    flag: '--token',
    schema: z.string().regex(/^tga_[A-Za-z0-9_-]{20,}$/),
    expected: 'the agent token printed by `tollgate admin agents create` (tga_...)',
  },
  insecure: {
    env: 'TOLLGATE_AGENT_INSECURE',
    flag: '--insecure',
    schema: flag,
    expected: 'true or false: allow a plain-text (http://) gateway URL that is not loopback',
  },
  caFile: {
    env: 'TOLLGATE_AGENT_CA_FILE',
    flag: '--ca-file',
    schema: z.string().min(1).optional(),
    expected: 'a PEM file of CA certificates that sign the gateway certificate (default: system roots)',
  },
  gatewayFingerprint: {
    env: 'TOLLGATE_AGENT_GATEWAY_FINGERPRINT',
    flag: '--gateway-fingerprint',
    schema: certificateFingerprint,
    expected: CERTIFICATE_FINGERPRINT_EXPECTED,
  },
  connectTimeoutMs: {
    env: 'TOLLGATE_AGENT_TARGET_CONNECT_TIMEOUT_MS',
    schema: positiveInt(10_000, 120_000),
    expected: 'milliseconds to wait for a target to accept a connection, 1 to 120000 (default 10000)',
  },
  maxSessions: {
    env: 'TOLLGATE_AGENT_MAX_SESSIONS',
    schema: positiveInt(10_000, 1_000_000),
    expected:
      'most sessions the agent serves at once; beyond it, it refuses and the gateway tries another agent (default 10000)',
  },
  drainTimeoutMs: {
    env: 'TOLLGATE_AGENT_DRAIN_TIMEOUT_MS',
    schema: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
    expected:
      'on SIGTERM, how long open sessions may run on while new ones go to other agents, 0 to 3600000 ms (default 30000; 0 ends them at once)',
  },
  reconnectMaxMs: {
    env: 'TOLLGATE_AGENT_RECONNECT_MAX_MS',
    schema: positiveInt(2_000, 300_000),
    expected: 'largest delay between reconnect attempts in milliseconds (default 2000)',
  },
  recordingMaxBytes: {
    env: 'TOLLGATE_AGENT_RECORDING_MAX_BYTES',
    schema: positiveInt(64 * 1024 * 1024, 1024 * 1024 * 1024),
    expected:
      'largest terminal recording (asciicast bytes) of one SSH shell or exec or Kubernetes exec, 1 to 1073741824; beyond it the recording ends with a marker and the stream runs on unrecorded (default 67108864, 64 MiB)',
  },
  sshHostPinsFile: {
    env: 'TOLLGATE_AGENT_SSH_HOST_PINS_FILE',
    schema: z
      .string()
      .min(1)
      .transform((value) => (isAbsolute(value) ? value : resolve(value)))
      .optional()
      .transform((value) => value ?? join(homedir(), '.tollgate', 'agent-ssh-host-pins')),
    expected:
      'a file where the agent keeps SSH host keys pinned by trust on first use (default ~/.tollgate/agent-ssh-host-pins)',
  },
  dataDir: {
    env: 'TOLLGATE_AGENT_DATA_DIR',
    flag: '--data-dir',
    schema: z
      .string()
      .min(1)
      .transform((value) => (isAbsolute(value) ? value : resolve(value)))
      .optional()
      .transform((value) => value ?? join(homedir(), '.tollgate', 'agent')),
    expected:
      "a directory for the agent's audit journal (default ~/.tollgate/agent; keep it on a local disk that survives restarts)",
  },
  journalMaxLag: {
    env: 'TOLLGATE_AGENT_JOURNAL_MAX_LAG',
    schema: z
      .string()
      .optional()
      .transform((value, ctx) => {
        const lag = parseJournalLag(value ?? DEFAULT_JOURNAL_LAG);
        if (!lag) {
          ctx.addIssue({ code: 'custom', message: 'bad journal lag' });
          return z.NEVER;
        }
        return lag;
      }),
    expected:
      'how far the audit journal may run ahead of the gateway before new commands are refused: an age ' +
      '(`30s`, `500ms`, `2m`), a count (`10000 events`), or both comma-separated (default "30s, 100000 events")',
  },
  logLevel: {
    env: 'TOLLGATE_LOG_LEVEL',
    flag: '--log-level',
    schema: logLevel,
    expected: 'one of fatal, error, warn, info, debug, trace, silent',
  },
  logFormat: {
    env: 'TOLLGATE_LOG_FORMAT',
    flag: '--log-format',
    schema: logFormat,
    expected: 'json or pretty',
  },
} as const;

/** The journal's bound: the oldest unacknowledged event's age, and how many there are. */
export interface JournalLag {
  readonly maxAgeMs: number;
  readonly maxEvents: number;
}

const DEFAULT_JOURNAL_LAG = '30s, 100000 events';
const DEFAULT_LAG: JournalLag = { maxAgeMs: 30_000, maxEvents: 100_000 };
const UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `30s`, `10000 events`, `30s, 10000 events`; a bound not given keeps its default. */
export function parseJournalLag(text: string): JournalLag | undefined {
  let maxAgeMs: number | undefined;
  let maxEvents: number | undefined;
  for (const part of text.split(',').map((p) => p.trim())) {
    const age = /^(\d+)\s*(ms|s|m|h)$/.exec(part);
    const count = /^(\d+)\s*events?$/.exec(part);
    if (age && maxAgeMs === undefined) maxAgeMs = Number(age[1]) * UNITS_MS[age[2]];
    else if (count && maxEvents === undefined) maxEvents = Number(count[1]);
    else return undefined;
  }
  if (maxAgeMs === 0 || maxEvents === 0) return undefined;
  return { maxAgeMs: maxAgeMs ?? DEFAULT_LAG.maxAgeMs, maxEvents: maxEvents ?? DEFAULT_LAG.maxEvents };
}

export type AgentConfig = SettingValues<typeof agentSettings>;
export type AgentConfigOverrides = SettingOverrides<typeof agentSettings>;

/** Validates the agent's configuration once; throws ConfigError naming every bad setting. */
export function loadAgentConfig(overrides: AgentConfigOverrides = {}, env?: Environment): AgentConfig {
  const config = readSettings(agentSettings, overrides, env);
  if (!config.gateway.tls && !config.insecure && !isLoopbackHost(config.gateway.host)) {
    throw new ConfigError([
      `--gateway (or TOLLGATE_AGENT_GATEWAY): plain text to ${config.gateway.host} would expose the agent token; ` +
        'use https:// or pass --insecure (TOLLGATE_AGENT_INSECURE=true)',
    ]);
  }
  if (config.gatewayFingerprint && !config.gateway.tls) {
    throw new ConfigError([
      '--gateway-fingerprint (or TOLLGATE_AGENT_GATEWAY_FINGERPRINT): pins the TLS certificate of the gateway, ' +
        'but --gateway (or TOLLGATE_AGENT_GATEWAY) is a plain-text http:// URL; use https://',
    ]);
  }
  return config;
}
