import type { LockHolder } from '../pglite/lock-holder';

/** Another live process holds the PGlite data directory; opening it too would corrupt it. */
export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';

  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
    readonly sameHost: boolean,
  ) {
    const where = sameHost ? `pid ${holder.pid}` : `pid ${holder.pid} on host ${holder.hostname}`;
    const hint = sameHost
      ? 'stop that process or use another --data-dir'
      : `stop that process or use another --data-dir (if host ${holder.hostname} is gone for good, delete ${dataDir}/tollgate.lock)`;
    super(
      `data directory ${dataDir} is in use by ${where} (started ${holder.startedAt}, ${JSON.stringify(holder.command)}); ${hint}`,
    );
  }
}
