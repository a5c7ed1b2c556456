import { type Problem, toProblem } from '../../shared/http/problem.ts';

/** What a client would get for the error `fn` throws: its problem (undefined for a fault or no error). */
export function problemOf(fn: () => unknown): Problem | undefined {
  try {
    fn();
  } catch (error) {
    return toProblem(error);
  }
  return undefined;
}
