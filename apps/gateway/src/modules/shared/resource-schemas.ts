import { z } from 'zod';

/** Names are DNS-label-like so they work in URLs, CLI arguments and policy globs. */
export const resourceName = z
  .string()
  .min(1)
  .max(63)
  .regex(
    /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/,
    'must be 1-63 lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit',
  );

export const description = z.string().max(1024);

/** key=value labels matched by policy selectors such as `tag:env=prod`. */
export const labelMap = z
  .record(
    z
      .string()
      .min(1)
      .max(63)
      .regex(/^[A-Za-z0-9._/-]+$/, 'label keys use letters, digits, ".", "_", "/" or "-"'),
    z.string().max(253),
  )
  .refine((map) => Object.keys(map).length <= 64, 'at most 64 labels');

/** Path parameter: a resource is addressed by id (uuid) or by name. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function byIdOrName(ref: string): { id: string } | { name: string } {
  return UUID_PATTERN.test(ref) ? { id: ref.toLowerCase() } : { name: ref };
}
