export type StoreLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured log sink; the app passes its pino logger through this. Never receives secrets. */
export type StoreLog = (level: StoreLogLevel, msg: string, fields?: Record<string, unknown>) => void;

export const silentLog: StoreLog = () => {};
