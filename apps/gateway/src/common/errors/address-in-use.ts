/**
 * A listener's address is taken. Says which listener, which address and what to do, instead of the
 * bare `listen EADDRINUSE` (or grpc-js's "No address added out of total 1 resolved").
 */
export class AddressInUseError extends Error {
  readonly code = 'EADDRINUSE';

  constructor(what: string, address: string, setting: string) {
    super(
      `${address} is already in use, so the ${what} cannot listen there: another Tollgate gateway ` +
        `(or \`tollgate start\`) may be running; stop it, or choose another port with ${setting}`,
    );
    this.name = 'AddressInUseError';
  }
}

/** `error` as an AddressInUseError when it says the address is taken; otherwise `error` itself. */
export function addressInUse<E>(
  error: E,
  what: string,
  address: string,
  setting: string,
): E | AddressInUseError {
  const taken =
    error instanceof Error &&
    ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' || error.message.includes('EADDRINUSE'));
  return taken ? new AddressInUseError(what, address, setting) : error;
}
