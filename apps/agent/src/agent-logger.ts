import pino, { type Logger } from 'pino';

export function createAgentLogger(level: string, format: 'json' | 'pretty'): Logger {
  return pino({
    level,
    base: { app: 'agent' },
    redact: { paths: ['*.token', '*.authorization'], censor: '[redacted]' },
    ...(format === 'pretty'
      ? { transport: { target: 'pino-pretty', options: { colorize: false, translateTime: 'SYS:standard' } } }
      : {}),
  });
}
