import type { LoggerService } from '@nestjs/common';
import pino, { type Logger, type TransportTargetOptions } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  readonly format: 'json' | 'pretty';
  /**
   * The whole log (at `level`, JSON lines) is appended here as well; the terminal then keeps only
   * warnings and errors, unless the level is debug or trace (someone asked to watch).
   */
  readonly file?: string;
}

/** What the terminal shows when the log also goes to a file. */
export function terminalLogLevel(level: string, file: string | undefined): string {
  if (!file || level === 'debug' || level === 'trace' || level === 'silent') return level;
  const value = pino.levels.values[level] ?? 0;
  return value >= pino.levels.values['warn'] ? level : 'warn';
}

/** Structured logs; secrets never reach them (credentials are redacted by path as a backstop). */
export function createLogger(options: LoggerOptions): Logger {
  const settings: pino.LoggerOptions = {
    level: options.level,
    base: { app: 'gateway' },
    redact: {
      paths: ['*.password', '*.token', '*.authorization', 'req.headers.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
  };
  const terminal: TransportTargetOptions =
    options.format === 'pretty'
      ? {
          target: 'pino-pretty',
          options: { colorize: false, translateTime: 'SYS:standard', destination: 1 },
        }
      : { target: 'pino/file', options: { destination: 1 } };
  if (!options.file || options.level === 'silent') {
    return options.format === 'pretty' ? pino({ ...settings, transport: terminal }) : pino(settings);
  }
  return pino(
    settings,
    pino.transport({
      targets: [
        { ...terminal, level: terminalLogLevel(options.level, options.file) },
        { target: 'pino/file', level: options.level, options: { destination: options.file, mkdir: true } },
      ],
    }),
  );
}

// Nest's own start-up chatter (every module loaded, every route mapped) is for debugging.
const FRAMEWORK_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
]);

/** Lets Nest's own logging go through pino. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.write(context && FRAMEWORK_CONTEXTS.has(context) ? 'debug' : 'info', message, context);
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.write('error', message, context, trace);
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('trace', message, context);
  }
  fatal(message: unknown, context?: string): void {
    this.write('fatal', message, context);
  }

  private write(level: pino.Level, message: unknown, context?: string, trace?: string): void {
    // Nest calls logger.error(obj, msg) with our structured object first when we log from a filter.
    if (typeof message === 'object' && message !== null) {
      this.logger[level]({ context, ...message }, trace ?? context ?? '');
      return;
    }
    this.logger[level]({ context, ...(trace ? { trace } : {}) }, String(message));
  }
}
