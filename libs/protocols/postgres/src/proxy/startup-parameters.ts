import type { SqlClassification, SqlStatementFacts } from '../sql-classifier';
import { settingRunsCode } from '../sql/opaque-code';
import { TargetConnectError } from './target-connect.error';

/**
 * Settings a client may always choose at start-up: how results are presented and named. Everything
 * else a start-up packet sets is a SET by other means, decided by policy like one.
 */
const PRESENTATION_SETTINGS = new Set([
  'application_name',
  'client_encoding',
  'datestyle',
  'timezone',
  'intervalstyle',
  'extra_float_digits',
]);

/** Start-up parameters the proxy owns: the target's user and database come from the connection. */
const OWNED = new Set(['user', 'database']);

/** Start-up parameters that are not settings: the server does not take them from `options`. */
const NOT_SETTINGS = new Set([...OWNED, 'options', 'replication']);

/** What the client's start-up packet asks of the target. */
export interface StartupRequest {
  /** Settings to send in the target's start-up packet (lower-case names), in the server's order. */
  readonly settings: ReadonlyMap<string, string>;
  /**
   * The settings beyond presentation, as the SET command they amount to, for a policy decision
   * before the target is reached; undefined when there are none.
   */
  readonly command?: { readonly text: string; readonly classification: SqlClassification };
}

/**
 * Reads a client's start-up parameters as the server would: every parameter other than `user`,
 * `database`, `replication`, `options` and protocol options (`_pq_.*`) is a setting (names are
 * case-insensitive), and `options` holds more, as command-line switches (`-c name=value`,
 * `--name=value`), which come first so the parameters win. Throws a TargetConnectError (with the
 * SQLSTATE the client is told) for a replication connection or options it cannot read.
 */
export function readStartupParameters(parameters: Readonly<Record<string, string>>): StartupRequest {
  const settings = new Map<string, string>();
  const set = (name: string, value: string) => {
    // A later value wins, as on the server; keep the order of the last assignment.
    settings.delete(name);
    settings.set(name, value);
  };
  const lower = Object.entries(parameters).map(([k, v]) => [k.toLowerCase(), v] as const);
  for (const [name, value] of lower) {
    if (name === 'replication' && !/^(false|off|no|0)$/i.test(value.trim()))
      throw new TargetConnectError('0A000', 'replication connections are not supported through Tollgate');
    if (name === 'options')
      for (const [k, v] of parseOptions(value)) {
        // The server reads these only as start-up parameters, never as settings (`-c options=...`
        // is an unknown setting there); passed on as parameters, `options` would be read as
        // switches again, undecided, and `_pq_.*` as protocol options.
        if (NOT_SETTINGS.has(k) || k.startsWith('_pq_.'))
          throw new TargetConnectError(
            '22023',
            `start-up option "-c ${k}=..." sets ${k}, which is not a setting`,
          );
        set(k, v);
      }
  }
  for (const [name, value] of lower) {
    if (OWNED.has(name) || name === 'replication' || name === 'options' || name.startsWith('_pq_.')) continue;
    set(name, value);
  }
  const decided = [...settings].filter(([name]) => !PRESENTATION_SETTINGS.has(name));
  if (decided.length === 0) return { settings };
  const statements = decided.map(([name, value]): SqlStatementFacts => {
    const opaque = settingRunsCode(name, value);
    return {
      type: 'SET',
      tables: [],
      hasWhere: false,
      readOnly: false,
      ...(opaque ? { opaque: ['CODE SETTING'] } : {}),
    };
  });
  const text = `/* start-up parameters */ ${decided.map(([n, v]) => `SET ${n} TO ${quote(v)}`).join('; ')}`;
  return { settings, command: { text, classification: { ok: true, statements } } };
}

/** Splits `options` as the server does (whitespace separates, `\` escapes) and reads its switches. */
function parseOptions(options: string): [string, string][] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < options.length; i++) {
    const c = options[i] as string;
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '\\' && i + 1 < options.length) {
      word = (word ?? '') + options[++i];
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);

  const settings: [string, string][] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    let assignment: string | undefined;
    if (w === '-c') assignment = words[++i];
    else if (w.startsWith('-c')) assignment = w.slice(2);
    else if (w.startsWith('--')) assignment = w.slice(2);
    else
      throw new TargetConnectError(
        '22023',
        `start-up option "${w}" is not supported through Tollgate (use -c name=value)`,
      );
    const eq = assignment?.indexOf('=') ?? -1;
    if (assignment === undefined || eq <= 0)
      throw new TargetConnectError('22023', `start-up option "${w}" needs name=value`);
    // The server reads `-c max-connections=...` as max_connections.
    settings.push([assignment.slice(0, eq).replace(/-/g, '_').toLowerCase(), assignment.slice(eq + 1)]);
  }
  return settings;
}

function quote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
