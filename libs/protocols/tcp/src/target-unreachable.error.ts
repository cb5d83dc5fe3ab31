/** The agent could not reach (or authenticate to) the target; the message is shown to the caller. */
export class TargetUnreachableError extends Error {
  override readonly name = 'TargetUnreachableError';
}
