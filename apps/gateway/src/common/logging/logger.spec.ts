import { describe, expect, it } from 'vitest';
import { terminalLogLevel } from './logger';

describe('terminalLogLevel: what the terminal shows when the log also goes to a file', () => {
  it('keeps warnings and errors only, unless someone asked for debug or trace', () => {
    const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
    expect(levels.map((level) => terminalLogLevel(level, '/var/log/tollgate.log'))).toEqual([
      'fatal',
      'error',
      'warn',
      'warn',
      'debug',
      'trace',
      'silent',
    ]);
  });

  it('is the log level itself without a log file', () => {
    for (const level of ['error', 'info', 'debug']) expect(terminalLogLevel(level, undefined)).toBe(level);
  });
});
