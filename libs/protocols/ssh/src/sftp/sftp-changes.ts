import { posix } from 'node:path';
import { OPEN_READ, SFTP, type SftpFields } from './sftp-packets';

/**
 * What an SFTP request (version 3, with OpenSSH's extensions) may change on the server, read before
 * it is sent: the paths it writes, removes, renames, links or changes the attributes of; or the
 * handle whose file it changes (FSETSTAT); or an extension whose effect is not known here. Requests
 * that change nothing (reads, listings, stat) are absent. No I/O.
 */
export type SftpChange =
  | { readonly kind: 'open'; readonly id: number; readonly path: string; readonly write: boolean }
  | {
      readonly kind: 'paths';
      readonly id: number;
      readonly paths: readonly string[];
      /** Why the paths do not say all the request changes. */
      readonly uncertain?: string;
    }
  | { readonly kind: 'handle'; readonly id: number; readonly handle: string }
  | { readonly kind: 'extension'; readonly id: number; readonly name: string };

/** OpenSSH extensions that change no path (or only through a handle an OPEN for writing made). */
const READING_EXTENSIONS = new Set([
  'statvfs@openssh.com',
  'fstatvfs@openssh.com',
  'fsync@openssh.com',
  'limits@openssh.com',
  'expand-path@openssh.com',
  'home-directory',
  'users-groups-by-id@openssh.com',
  'copy-data',
]);

/** Extensions whose two first fields are paths, both changed (the old name goes, the new comes). */
const TWO_PATH_EXTENSIONS = new Set(['posix-rename@openssh.com', 'hardlink@openssh.com']);

export function sftpChange(fields: SftpFields): SftpChange | undefined {
  switch (fields.type) {
    case SFTP.OPEN: {
      const id = fields.uint32();
      const path = fields.string();
      // READ|CREAT|TRUNC without WRITE still creates or empties the file (sftp-server opens it
      // O_RDONLY|O_TRUNC), so every flag but READ counts as writing.
      return { kind: 'open', id, path, write: (fields.uint32() & ~OPEN_READ) !== 0 };
    }
    case SFTP.REMOVE:
    case SFTP.MKDIR:
    case SFTP.RMDIR:
    case SFTP.SETSTAT:
      return { kind: 'paths', id: fields.uint32(), paths: [fields.string()] };
    case SFTP.RENAME:
      return { kind: 'paths', id: fields.uint32(), paths: [fields.string(), fields.string()] };
    case SFTP.SYMLINK:
      // Later writes through a link to a directory reach every path below it, under names no
      // pattern on the link's target sees (`ln -s /etc e`, then `put x e/passwd`).
      return {
        kind: 'paths',
        id: fields.uint32(),
        paths: [fields.string(), fields.string()],
        uncertain: 'a symbolic link (what is written through it later is not read from its path)',
      };
    case SFTP.FSETSTAT:
      return { kind: 'handle', id: fields.uint32(), handle: fields.bytes().toString('hex') };
    case SFTP.EXTENDED: {
      const id = fields.uint32();
      const name = fields.string();
      if (READING_EXTENSIONS.has(name)) return undefined;
      if (TWO_PATH_EXTENSIONS.has(name))
        return { kind: 'paths', id, paths: [fields.string(), fields.string()] };
      if (name === 'lsetstat@openssh.com') return { kind: 'paths', id, paths: [fields.string()] };
      return { kind: 'extension', id, name };
    }
    default:
      return undefined;
  }
}

/**
 * A path as policy reads it: an absolute path with `.`, `..` and repeated slashes resolved as the
 * server will (`/home/u/sub/../locked/x` is `/home/u/locked/x`), or why it cannot be placed (a
 * relative path whose start directory is not known; control characters).
 */
export function placedPath(path: string): { readonly path: string; readonly uncertain?: string } {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return { path, uncertain: 'control characters in an SFTP path' };
  if (!path.startsWith('/')) {
    return { path, uncertain: 'a relative SFTP path whose start directory the server did not tell' };
  }
  return { path: posix.normalize(path) };
}
