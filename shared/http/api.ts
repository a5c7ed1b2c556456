import type { Context, APIGatewayProxyEventV2WithJWTAuthorizer as JwtEvent } from 'aws-lambda';
import { type Caller, callerFrom } from '../auth/caller.ts';
import { Meter, type Metering, writesPerUser } from '../quotas/meter.ts';
import type { AlsoCommit } from '../store/table.ts';
import { IdempotencyClaim } from './idempotency.ts';
import { validateIdempotencyKey } from './idempotency-key.ts';
import { type HttpRequest, kernel } from './kernel.ts';
import { toProblem, unauthorized } from './problem.ts';
import { rateLimitHeaders } from './rate-limit.ts';
import type { ApiResult } from './response.ts';

export interface ApiRequest extends HttpRequest {
  caller: Caller;
  /** Present on a POST that carries Idempotency-Key: commit `completion(response)` with the write. */
  idempotency: IdempotencyClaim | undefined;
  /**
   * For a create: the writes to commit in the same transaction as the new record, i.e. the
   * idempotency record holding the response this request will answer (none without a key).
   */
  alsoCommit<T>(respond: (view: T) => ApiResult): AlsoCommit<T>;
  /** A quota this route counts itself (in its own transaction); the answer carries its RateLimit fields. */
  meter: Metering;
}

export type Route = (req: ApiRequest) => Promise<ApiResult>;

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The kernel every API function uses: the caller from the verified JWT claims, the per-user write
 * quota and idempotency for POST (shared/http/kernel.ts routes, bounds the body and maps errors). Every answer
 * depends on who asks: `Vary: Authorization`.
 */
export function api(routes: Record<string, Route>) {
  return kernel<JwtEvent, Route>(routes, { vary: ['Authorization'] }, async (route, http, event, context) => {
    const caller = callerFrom(event);
    // The JWT authorizer verified the token; a subject we cannot use as an identity is still refused.
    if (!caller) throw unauthorized('The token has no usable subject (sub, 1 to 256 characters).');
    const meters: Meter[] = [];
    const req: ApiRequest = {
      ...http,
      caller,
      idempotency: undefined,
      alsoCommit: (respond) => (view) => (req.idempotency ? [req.idempotency.completion(respond(view))] : []),
      meter(policy, partition) {
        const meter = new Meter(policy, partition);
        meters.push(meter);
        return meter;
      },
    };
    try {
      const result = await serve(route, req, event, context);
      return { ...result, headers: { ...result.headers, ...rateLimitHeaders(meters) } };
    } catch (error) {
      throw toProblem(error)?.withHeaders(rateLimitHeaders(meters)) ?? error;
    }
  });
}

/** Writes count against the caller's quota before the route runs; a replay of a stored answer does not. */
async function serve(route: Route, req: ApiRequest, event: JwtEvent, context: Context): Promise<ApiResult> {
  const method = event.requestContext.http.method;
  const writes = WRITE_METHODS.has(method) ? req.meter(writesPerUser, req.caller.sub) : undefined;
  const key = req.header('idempotency-key');
  if (method !== 'POST' || key === undefined) {
    await writes?.take();
    const { stored: _secretless, ...answer } = await route(req);
    return answer;
  }

  const claim = new IdempotencyClaim(req.caller, event.routeKey, event.rawPath, validateIdempotencyKey(key), req.text);
  const replay = await claim.claim(Math.ceil(context.getRemainingTimeInMillis() / 1000) + 5);
  if (replay) return replay;
  req.idempotency = claim;
  try {
    await writes?.take();
    const { stored, ...result } = await route(req);
    await claim.complete(stored ?? result);
    return result;
  } catch (error) {
    // Only a claim this request holds is released, never another request's.
    await claim.release();
    throw error;
  }
}
