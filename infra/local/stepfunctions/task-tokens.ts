/**
 * Task tokens of `.waitForTaskToken` tasks. `$$.Task.Token` mints a token each time the ASL reads
 * it (the runner's context has a getter there); the task then claims the token its parameters
 * carry and waits for SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat. A token answers
 * once: after that, or once its task has ended (timeout, stopped execution), it is unknown and
 * the caller gets `TaskTimedOut`, as on AWS.
 */
import { randomBytes } from 'node:crypto';
import { AwsServiceError } from '../aws-endpoint.ts';

/** How a waiting task hears its token's answer. */
export interface TokenAnswers {
  succeed(output: unknown): void;
  fail(error: string, cause: string): void;
  heartbeat(): void;
}

interface Waiting {
  executionArn: string;
  answers: TokenAnswers;
}

export class TaskTokens {
  /** Minted by `$$.Task.Token` and not claimed yet: token → execution ARN. */
  readonly #minted = new Map<string, string>();
  readonly #waiting = new Map<string, Waiting>();

  mint(executionArn: string): string {
    const token = randomBytes(48).toString('base64url');
    this.#minted.set(token, executionArn);
    return token;
  }

  /** Claims the token found in `parameters` (a fresh one when they carry none: nobody can answer it then). */
  claim(executionArn: string, parameters: unknown, answers: TokenAnswers): string {
    const token = findString(parameters, (text) => this.#minted.get(text) === executionArn) ?? this.mint(executionArn);
    this.#minted.delete(token);
    this.#waiting.set(token, { executionArn, answers });
    return token;
  }

  /** The token's task ended another way (timeout, failed invocation): answers to it are refused from now on. */
  release(token: string): void {
    this.#waiting.delete(token);
  }

  /** Fails every task of the execution still waiting, and forgets all its tokens. */
  releaseExecution(executionArn: string, error: string, cause: string): void {
    for (const [token, owner] of this.#minted) if (owner === executionArn) this.#minted.delete(token);
    for (const [token, waiting] of this.#waiting) {
      if (waiting.executionArn !== executionArn) continue;
      this.#waiting.delete(token);
      waiting.answers.fail(error, cause);
    }
  }

  /** SendTaskSuccess / SendTaskFailure: the waiting task, which stops waiting. */
  take(token: string): TokenAnswers {
    const answers = this.peek(token);
    this.#waiting.delete(token);
    return answers;
  }

  /** SendTaskHeartbeat: the waiting task, which keeps waiting. */
  peek(token: string): TokenAnswers {
    const waiting = this.#waiting.get(token);
    if (waiting === undefined)
      throw new AwsServiceError('TaskTimedOut', 'Task Timed Out: Provided task does not exist anymore');
    return waiting.answers;
  }
}

function findString(value: unknown, matches: (text: string) => boolean): string | undefined {
  if (typeof value === 'string') return matches(value) ? value : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const item of Object.values(value)) {
    const found = findString(item, matches);
    if (found !== undefined) return found;
  }
  return undefined;
}
