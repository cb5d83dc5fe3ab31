import { describe, expect, it } from 'vitest';
import { diagnosticsFromProblems, lintPolicy } from './policy-lint';

describe('policy linting in the console editor', () => {
  it('accepts a valid document', () => {
    expect(
      lintPolicy(`version: 1
roles:
  - name: dba
    subjects: [group:dba]
    connections: ["*"]
    verbs: [connect, exec]
`),
    ).toEqual([]);
  });

  it('places an invalid verb and an unknown key at their lines', () => {
    const diagnostics = lintPolicy(`version: 1
roles:
  - name: dba
    subjects: [group:dba]
    connections: ["*"]
    verbs: [connect, sudo]
    colour: blue
`);
    expect(diagnostics.map((d) => d.line).sort()).toEqual([6, 7]);
    expect(diagnostics.find((d) => d.line === 6)?.message).toMatch(/roles\[0\]\.verbs\[1\]/);
    expect(diagnostics.find((d) => d.line === 7)?.message).toMatch(/colour/);
  });

  it('places a YAML syntax error', () => {
    const [first] = lintPolicy('version: 1\nroles: [\n  - name: x\n');
    expect(first?.line).toBeGreaterThanOrEqual(2);
  });

  it('reads the line and column of the gateway’s problems and drops the position prefix', () => {
    expect(
      diagnosticsFromProblems([
        {
          field: 'document.roles[0].verbs[1]',
          message: 'policy.yaml:6:21: roles[0].verbs[1]: bad',
          line: 6,
          column: 21,
        },
      ]),
    ).toEqual([{ line: 6, column: 21, message: 'roles[0].verbs[1]: bad' }]);
  });
});
