import type { Caller } from '../../shared/auth/caller.ts';
import type { AlsoCommit } from '../../shared/store/table.ts';

let counter = 0;
/** A name no other test of the run uses. */
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

/** A signed-in person, as the JWT authorizer would hand them over. */
export const person = (sub: string, groups: string[] = []): Caller => ({
  sub,
  name: sub,
  email: undefined,
  groups,
  requestId: `req-${sub}`,
});

/** A platform admin by token group: the bootstrap path. */
export const admin = () => person(unique('root'), ['platform-admins']);

/** No idempotency record rides along: what a POST without Idempotency-Key commits. */
export const nothingElse: AlsoCommit<unknown> = () => [];

/** The error a promise rejects with, to assert on its class and code. */
export async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the use case to refuse');
}
