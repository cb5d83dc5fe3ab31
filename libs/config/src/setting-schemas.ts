import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';

/** Schemas shared by the apps' settings. Each accepts the string form the environment gives. */
export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const host = (fallback: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9.:_\-[\]]+$/)
    .default(fallback);

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

export const logFormat = z.enum(['json', 'pretty']).default('json');

export const positiveInt = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

export const postgresUrl = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
    } catch {
      return false;
    }
  })
  .optional();

export function defaultDataDir(): string {
  return join(homedir(), '.tollgate', 'data');
}

export const directory = z
  .string()
  .min(1)
  .transform((value) => (isAbsolute(value) ? value : resolve(value)))
  .optional()
  .transform((value) => value ?? defaultDataDir());

export const httpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
});

/** true/false (also 1/0, yes/no, on/off) from the environment; a boolean from a flag. */
export const boolean = (fallback: boolean) =>
  z
    .union([
      z.boolean(),
      z
        .string()
        .transform((v) => v.trim().toLowerCase())
        .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']))
        .transform((v) => ['true', '1', 'yes', 'on'].includes(v)),
    ])
    .default(fallback);
