import { describe, expect, it } from 'vitest';
import { canonicalForwardHost } from './forward-host';

describe('canonicalForwardHost: one spelling per address, as sshd will reach it', () => {
  it.each([
    ['2130706433', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.0.1', '127.0.0.1'],
    ['169.254.43518', '169.254.169.254'],
    ['0xA9FEA9FE', '169.254.169.254'],
    ['[::ffff:127.0.0.1]', '127.0.0.1'],
    ['::FFFF:7f00:1', '127.0.0.1'],
    ['0:0::1', '::1'],
    ['DB.Example.', 'db.example'],
    ['999.1.1.1', '999.1.1.1'],
    ['08.1.1.1', '08.1.1.1'],
    ['4294967296', '4294967296'],
    ['', ''],
    ['localhost', 'localhost'],
  ])('%j is %j', (host, canonical) => {
    expect(canonicalForwardHost(host)).toBe(canonical);
  });
});
