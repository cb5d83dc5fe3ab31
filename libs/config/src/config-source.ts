import { z } from 'zod';
import { ConfigError } from './config.error';

/**
 * A setting is read from (in order) an explicit override (a CLI flag), then the environment, then
 * the caller's fallback (a command's own default, such as `tollgate start`'s listener port).
 * `flag` and `env` name the setting in error messages, so the user knows which one to fix.
 */
export interface SettingSpec<T extends z.ZodType> {
  readonly env: string;
  readonly flag?: string;
  readonly schema: T;
  /** What the setting expects, in words, for the error message. */
  readonly expected: string;
  /**
   * Set for a variable whose blank value must not silently mean "unset" (a blank TOLLGATE_TOKEN
   * left by a failed command would fall back to another identity): the error message then.
   */
  readonly whenBlank?: string;
  /** The value is a secret (a token, a key): an error says how long it was, never what it was. */
  readonly secret?: boolean;
}

export type SettingSpecs = Record<string, SettingSpec<z.ZodType>>;
export type SettingValues<S extends SettingSpecs> = { [K in keyof S]: z.output<S[K]['schema']> };
export type SettingOverrides<S extends SettingSpecs> = {
  [K in keyof S]?: string | number | boolean | undefined;
};

export type Environment = Readonly<Record<string, string | undefined>>;

/** The only place in the project that reads process.env. */
export function processEnvironment(): Environment {
  return process.env;
}

export function readSettings<S extends SettingSpecs>(
  specs: S,
  overrides: SettingOverrides<S> = {},
  env: Environment = processEnvironment(),
  fallbacks: SettingOverrides<S> = {},
): SettingValues<S> {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const override = overrides[key];
    const fromFlag = override !== undefined;
    if (!fromFlag && spec.whenBlank !== undefined && isBlank(env[spec.env])) {
      problems.push(`${spec.env} is set but empty: ${spec.whenBlank}`);
      continue;
    }
    const raw = fromFlag ? override : (emptyToUndefined(env[spec.env]) ?? fallbacks[key]);
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) {
      values[key] = parsed.data;
    } else {
      const source = fromFlag && spec.flag ? `${spec.flag} (or ${spec.env})` : spec.env;
      problems.push(`${source}: expected ${spec.expected}, got ${shown(raw, spec.secret === true)}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values as SettingValues<S>;
}

function shown(raw: unknown, secret: boolean): string {
  if (!secret || raw === undefined) return JSON.stringify(raw);
  return typeof raw === 'string'
    ? `${raw.length} characters (not shown: a secret)`
    : 'a value (not shown: a secret)';
}

function isBlank(value: string | undefined): boolean {
  return value !== undefined && value.trim() === '';
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || isBlank(value) ? undefined : value;
}
