import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listenerOwnerName, namesCredentialOwner } from './listener-user';

const PERSON = 'user:0b7c9a4e-3f51-4c55-9d1e-6a0c2a1f8e11';

describe('namesCredentialOwner', () => {
  it("accepts the subject, the subject's id or name, and a person's email in any ASCII case", () => {
    expect(namesCredentialOwner(PERSON, PERSON, 'dev@example.com')).toBe(true);
    expect(namesCredentialOwner(PERSON.slice(5), PERSON, 'dev@example.com')).toBe(true);
    expect(namesCredentialOwner('Dev@Example.COM', PERSON, 'dev@example.com')).toBe(true);
    expect(namesCredentialOwner('sa:etl', 'sa:etl', 'etl')).toBe(true);
    expect(namesCredentialOwner('etl', 'sa:etl', 'etl')).toBe(true);
  });

  it('refuses other people, other service accounts, and look-alikes', () => {
    expect(namesCredentialOwner('dba@example.com', PERSON, 'dev@example.com')).toBe(false);
    expect(namesCredentialOwner('ETL', 'sa:etl', 'etl')).toBe(false);
    expect(namesCredentialOwner('', 'sa:etl', 'etl')).toBe(false);
    expect(namesCredentialOwner('', 'sa:', '')).toBe(false);
    // U+212A KELVIN SIGN lower-cases to "k" in Unicode; only ASCII case is ignored.
    expect(namesCredentialOwner('\u212Aim@example.com', 'user:x', 'kim@example.com')).toBe(false);
    expect(namesCredentialOwner('dev@example.com ', PERSON, 'dev@example.com')).toBe(false);
  });

  it('accepts no name that differs from every accepted form beyond ASCII case (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        fc.stringMatching(/^[a-z0-9.-]{1,12}@[a-z0-9.-]{1,12}$/),
        fc.uuid(),
        (userName, email, id) => {
          const subject = `user:${id}`;
          const accepted = [subject, id, email].some(
            (form) =>
              form.toLowerCase() === userName.replace(/[A-Z]/g, (c) => c.toLowerCase()) &&
              /^[\x20-\x7e]*$/.test(userName),
          );
          expect(namesCredentialOwner(userName, subject, email)).toBe(
            userName === subject || userName === id || accepted,
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('listenerOwnerName', () => {
  it("is a person's e-mail, never the display name they chose at the IdP", () => {
    const withEmail = {
      ok: true,
      displayName: 'dev@example.com',
      email: 'dev@example.com',
      groups: [],
    } as const;
    expect(listenerOwnerName(PERSON, withEmail)).toBe('dev@example.com');
    // No e-mail from the IdP (none, or unverified): the directory shows the display name, which
    // Mallory set to Bob's address; it does not let her credential log in as "bob@example.com".
    const noEmail = { ok: true, displayName: 'bob@example.com', groups: [] } as const;
    expect(listenerOwnerName(PERSON, noEmail)).toBe('');
    expect(namesCredentialOwner('bob@example.com', PERSON, listenerOwnerName(PERSON, noEmail))).toBe(false);
    expect(namesCredentialOwner(PERSON, PERSON, listenerOwnerName(PERSON, noEmail))).toBe(true);
  });

  it("is a service account's name, and nothing for a subject that is gone", () => {
    expect(listenerOwnerName('sa:etl', { ok: true, displayName: 'etl', groups: [] })).toBe('etl');
    expect(listenerOwnerName('sa:etl', { ok: false, reason: 'gone' })).toBe('');
    expect(listenerOwnerName('sa:etl', undefined)).toBe('');
  });
});
