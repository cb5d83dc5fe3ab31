import type { LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  readonly format: 'json' | 'pretty';
}

/** Structured logs; secrets never reach them (credentials are redacted by path as a backstop). */
export function createLogger(options: LoggerOptions): Logger {
  return pino({
    level: options.level,
    base: { app: 'gateway' },
    redact: {
      paths: ['*.password', '*.token', '*.authorization', 'req.headers.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
    ...(options.format === 'pretty'
      ? { transport: { target: 'pino-pretty', options: { colorize: false, translateTime: 'SYS:standard' } } }
      : {}),
  });
}

/** Lets Nest's own logging go through pino. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.write('info', message, context);
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
