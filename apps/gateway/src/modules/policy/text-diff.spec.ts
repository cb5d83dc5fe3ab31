import { describe, expect, it } from 'vitest';
import { unifiedDiff } from './text-diff';

describe('unifiedDiff', () => {
  it('is empty for equal documents', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n')).toBe('');
  });

  it('shows removed and added lines with context and hunk headers', () => {
    const before = ['version: 1', 'roles:', '  - name: dba', '    verbs: [connect]', 'sessions: {}'].join(
      '\n',
    );
    const after = [
      'version: 1',
      'roles:',
      '  - name: dba',
      '    verbs: [connect, exec]',
      'sessions: {}',
    ].join('\n');
    expect(unifiedDiff(before, after, 1)).toBe(
      [
        '@@ -3,3 +3,3 @@',
        '   - name: dba',
        '-    verbs: [connect]',
        '+    verbs: [connect, exec]',
        ' sessions: {}',
        '',
      ].join('\n'),
    );
  });

  it('diffs against an empty document', () => {
    expect(unifiedDiff('', 'a\n')).toBe('@@ -1,0 +1,1 @@\n+a\n');
  });
});
