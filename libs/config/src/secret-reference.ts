import { readFileSync } from 'node:fs';
import { processEnvironment, type Environment } from './config-source';

/** A credential reference that cannot be resolved on this host; the message names the reference, never a secret. */
export class SecretReferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretReferenceError';
  }
}

/**
 * Resolves an agent-local secret reference: `env:NAME` reads the agent's environment, `file:/path`
 * reads a file (one trailing newline is dropped, as secret files usually end with one). Resolved at
 * the moment a session needs it, so a rotated secret is picked up without restarting the agent.
 */
export function resolveSecretReference(reference: string, env: Environment = processEnvironment()): string {
  if (reference.startsWith('env:')) {
    const name = reference.slice(4);
    const value = env[name];
    if (value === undefined)
      throw new SecretReferenceError(
        `credential ${reference}: environment variable ${name} is not set on the agent`,
      );
    return value;
  }
  if (reference.startsWith('file:')) {
    const path = reference.slice(5);
    try {
      return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new SecretReferenceError(`credential ${reference}: cannot read ${path} on the agent (${code})`);
    }
  }
  throw new SecretReferenceError(`credential reference "${reference}" is neither env:NAME nor file:/path`);
}
