import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { administratorsAmong, lockOutProblem, withAdministratorRole } from './administrators';
import type { SubjectContext } from './context.types';
import { parsePolicy } from './parse-policy';

const parse = (text: string) => {
  const parsed = parsePolicy(text, 'policy.yaml');
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('; '));
  return parsed.policy;
};

const who = (subject: string, groups: string[] = [], email?: string): SubjectContext => ({
  subject,
  groups,
  actorChain: [],
  ...(email ? { email } : {}),
});

const PEOPLE = [
  who('user:0b5d9a50-0000-4000-8000-000000000001', ['dba'], 'ada@example.com'),
  who('sa:pipeline', ['ci']),
  who('sa:bootstrap-admin', ['tollgate-admins']),
];

const ADMINS = `version: 1
# who runs the gateway
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    verbs: [admin]
  - name: dba
    subjects: ['group:dba']
    connections: ['pg-*']
    verbs: [connect]
`;

describe('lock-out protection', () => {
  it('names who may administer among the principals that exist', () => {
    expect(administratorsAmong(parse(ADMINS), PEOPLE)).toEqual(['sa:bootstrap-admin']);
    expect(lockOutProblem(parse(ADMINS), PEOPLE)).toBeNull();
  });

  it('refuses a policy whose admin roles name nobody who exists, or no admin role at all', () => {
    const nobody = ADMINS.replace("'group:tollgate-admins'", "'group:former-admins'");
    const noRole = ADMINS.replace('verbs: [admin]', "verbs: ['audit:read']");
    for (const text of [nobody, noRole]) {
      expect(lockOutProblem(parse(text), PEOPLE)).toMatch(
        /^no enabled user or service account \(of 3\) could administer under this policy/,
      );
    }
    // Nobody exists at all: locked out too.
    expect(lockOutProblem(parse(ADMINS), [])).toMatch(/\(of 0\)/);
  });

  it('counts a user named by e-mail and a delegated-looking chain does not matter', () => {
    const byEmail = ADMINS.replace("'group:tollgate-admins'", "'user:ada@example.com'");
    expect(administratorsAmong(parse(byEmail), PEOPLE)).toEqual([
      'user:0b5d9a50-0000-4000-8000-000000000001',
    ]);
  });

  it('recovery adds one admin role for the subject and keeps the rest of the document', () => {
    const subjects = fc.oneof(
      fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/).map((n) => `sa:${n}`),
      fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/).map((n) => `group:${n}`),
    );
    const documents = fc.constantFrom(
      ADMINS.replace('verbs: [admin]', "verbs: ['audit:read']"),
      'version: 1\n',
      'version: 1\nroles: []\n',
      'version: 1\nroles:\n  - {name: dba, subjects: [group:dba], connections: [pg-1], verbs: [exec]}\n',
    );
    fc.assert(
      fc.property(documents, subjects, (document, subject) => {
        const before = parse(document);
        const recovered = withAdministratorRole(document, 'recovered-admin-1', subject);
        const after = parse(recovered);
        expect(after.roles.slice(0, -1)).toEqual(before.roles);
        expect(after.roles.at(-1)).toMatchObject({ name: 'recovered-admin-1', verbs: ['admin'] });
        const principal = subject.startsWith('sa:') ? who(subject) : who('sa:someone', [subject.slice(6)]);
        expect(administratorsAmong(after, [principal])).toEqual([principal.subject]);
        expect(after.guardrails).toEqual(before.guardrails);
        expect(after.masking).toEqual(before.masking);
      }),
    );
    expect(withAdministratorRole(ADMINS, 'recovered-admin-1', 'sa:ops')).toContain('# who runs the gateway');
  });
});
