import type { Logger } from 'pino';

/** The tunnel's structured logger (a class so it can be injected by type). */
export class TunnelLogger {
  constructor(readonly log: Logger) {}
}
