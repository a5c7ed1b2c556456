import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/canonical.ts';
import type { Caller } from '../auth/caller.ts';
import { busy, unprocessable } from '../errors.ts';
import { commit, type Item, type Write } from '../store/table.ts';
import { IDEMPOTENCY_RETENTION_HOURS } from './idempotency-key.ts';
import { parseJsonBody } from './json.ts';
import type { ApiResult } from './response.ts';

const RETENTION_SECONDS = IDEMPOTENCY_RETENTION_HOURS * 60 * 60;

/**
 * `Idempotency-Key` on POST: the first request claims the key (conditional put), does its work,
 * and stores its response in the same transaction as its write; a repeat replays that response;
 * the same key with another body is 422; a repeat while the first still runs is 409. A claim
 * abandoned by a crash can be taken over once its lease (the function timeout) has passed.
 */
export class IdempotencyClaim {
  readonly key: { PK: string; SK: string };
  readonly fingerprint: string;
  /** A use case took the completion write to commit with its own; `complete` then has nothing to add. */
  completionTaken = false;

  constructor(caller: Caller, routeKey: string, path: string, idempotencyKey: string, body: string | undefined) {
    // Scoped to caller and route: two users' keys never collide, and a key is not reusable across endpoints.
    this.key = { PK: `IDEMPOTENCY#${caller.sub}`, SK: `${routeKey}#${path}#${idempotencyKey}` };
    this.fingerprint = createHash('sha256').update(canonicalBody(body)).digest('base64url');
  }

  /** Claims the key; returns the stored response when this is a replay. */
  async claim(leaseSeconds: number): Promise<ApiResult | undefined> {
    const now = Math.floor(Date.now() / 1000);
    let replay: ApiResult | undefined;
    try {
      await commit([
        {
          put: {
            ...this.key,
            status: 'IN_PROGRESS',
            fingerprint: this.fingerprint,
            leaseUntil: now + leaseSeconds,
            expiresAt: now + RETENTION_SECONDS,
          },
          condition: 'attribute_not_exists(PK) OR (#status = :inProgress AND leaseUntil < :now) OR expiresAt < :now',
          names: { '#status': 'status' },
          values: { ':inProgress': 'IN_PROGRESS', ':now': now },
          onFail: (current) => {
            if (current?.fingerprint !== this.fingerprint) {
              return unprocessable(
                'idempotency-key-reused',
                'This Idempotency-Key was used with a different request body.',
              );
            }
            if (current.status === 'COMPLETED') replay = current.response as ApiResult;
            return busy(
              'idempotency-in-progress',
              'A request with this Idempotency-Key is still being processed; retry shortly.',
            );
          },
        },
      ]);
    } catch (problem) {
      if (replay) return { ...replay, headers: { ...replay.headers, 'idempotent-replayed': 'true' } };
      throw problem;
    }
    return undefined;
  }

  /** The write that stores the response; commit it together with the request's own writes. */
  completion(response: ApiResult): Write {
    this.completionTaken = true;
    return {
      update: this.key,
      set: 'SET #status = :completed, #response = :response REMOVE leaseUntil',
      condition: 'fingerprint = :fingerprint',
      names: { '#status': 'status', '#response': 'response' },
      values: { ':completed': 'COMPLETED', ':response': response as unknown as Item, ':fingerprint': this.fingerprint },
      onFail: () => busy('idempotency-in-progress', 'The Idempotency-Key claim was lost; retry.'),
    };
  }

  /** Stores the response when the handler did not take the completion to commit with its own write. */
  async complete(response: ApiResult): Promise<void> {
    if (!this.completionTaken) await commit([this.completion(response)]);
  }

  /** Frees the key after a refused or failed request, so a corrected retry may use it. */
  async release(): Promise<void> {
    await commit([
      {
        delete: this.key,
        condition: '#status = :inProgress',
        names: { '#status': 'status' },
        values: { ':inProgress': 'IN_PROGRESS' },
        onFail: () => busy('idempotency-in-progress', 'gone'),
      },
    ]).catch(() => undefined);
  }
}

/**
 * Same JSON, same fingerprint: key order and whitespace do not make a body "different". A body the
 * route will refuse (not JSON, too deep, a reserved key) is fingerprinted as sent.
 */
function canonicalBody(body: string | undefined): string {
  if (!body) return '';
  try {
    return canonicalJson(parseJsonBody(body));
  } catch {
    return body;
  }
}
