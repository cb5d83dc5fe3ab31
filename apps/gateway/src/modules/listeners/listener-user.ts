import type { SubjectState } from '../identity/subjects/subject-directory.service';

/**
 * Whether the user name a client logged in with names the owner of the credential it presented:
 * the subject (`user:<id>`, `sa:<name>`), the subject without its kind, or the owner's name in
 * Tollgate (a person's email, compared without case; a service account's name).
 */
export function namesCredentialOwner(userName: string, subject: string, ownerName: string): boolean {
  if (userName === '') return false;
  if (userName === subject) return true;
  const colon = subject.indexOf(':');
  if (colon > 0 && userName === subject.slice(colon + 1)) return true;
  if (ownerName === '') return false;
  return ownerName.includes('@') ? asciiLower(userName) === asciiLower(ownerName) : userName === ownerName;
}

/** ASCII letters only: Unicode case folding would let other strings (the Kelvin sign...) pass. */
function asciiLower(value: string): string {
  return value.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * The owner's name a listener user name may give: a person's e-mail as their IdP gave it (never the
 * display name, which the person may set at the IdP to anything, someone else's address included),
 * a service account's name; empty when it has none (the subject and its id still name it).
 */
export function listenerOwnerName(subject: string, state: SubjectState | undefined): string {
  if (!state?.ok) return '';
  if (subject.startsWith('user:')) return state.email ?? '';
  return subject.startsWith('sa:') ? state.displayName : '';
}
