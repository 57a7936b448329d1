/**
 * Errors that are the user's to fix. The CLI prints their message on one line and exits
 * with the code DESIGN §3 gives; it never prints their stack.
 */
export class UsageError extends Error {
  readonly exitCode = 2;
}

export type ModelErrorKind =
  | 'load' // the scenario file throws or exports nothing valid
  | 'invalid' // the scenario's declarations are inconsistent
  | 'unknown-operation'
  | 'unknown-actor'
  | 'unknown-lock'
  | 'bad-operation'
  | 'out-of-bounds'
  | 'step-bound'
  | 'machine-error'
  | 'nondeterminism'
  | 'divergence';

/** The scenario or one of its machines is wrong: exit code 3. */
export class ModelError extends Error {
  readonly exitCode = 3;
  constructor(
    readonly kind: ModelErrorKind,
    message: string,
    readonly where: { readonly actor?: string; readonly step?: number; readonly state?: string } = {},
  ) {
    super(message);
  }
}

export function isUserError(e: unknown): e is UsageError | ModelError {
  return e instanceof UsageError || e instanceof ModelError;
}
