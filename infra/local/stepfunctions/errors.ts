/**
 * Errors as the ASL runner (aws-local-stepfunctions) reads them: Retry and Catch match
 * `error.name`, a catcher's `Cause` is `error.message`, and `isRetryable` / `isCatchable` false
 * keep an error out of every Retry and Catch (`States.Runtime` on AWS).
 */

/** A failed task: `name` is the ASL error (`ClusterUnreachable`, `States.Timeout`), `cause` its Cause. */
export function taskError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

/** A failure no Retry or Catch handles; it fails the execution. */
export class StatesRuntimeError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;

  constructor(message: string) {
    super(message);
    this.name = 'States.Runtime';
  }
}
