/**
 * The development IdP's demo users (documented in README.md). Passwords are public on purpose:
 * the dev IdP is for the quickstart and tests only.
 */
export interface DemoUser {
  readonly username: string;
  readonly password: string;
  readonly email: string;
  readonly name: string;
  /** Mutable so tests can model "removed from a group at the IdP". */
  groups: string[];
}

export function demoUsers(): DemoUser[] {
  return [
    {
      username: 'admin',
      password: 'admin-demo',
      email: 'admin@tollgate.test',
      name: 'Ada Admin',
      groups: ['tollgate-admins'],
    },
    { username: 'dba', password: 'dba-demo', email: 'dba@tollgate.test', name: 'Dana DBA', groups: ['dba'] },
    {
      username: 'developer',
      password: 'developer-demo',
      email: 'developer@tollgate.test',
      name: 'Devi Developer',
      groups: ['developers'],
    },
    {
      username: 'auditor',
      password: 'auditor-demo',
      email: 'auditor@tollgate.test',
      name: 'Avery Auditor',
      groups: ['auditors'],
    },
  ];
}
