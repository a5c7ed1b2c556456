import { validate } from '../../shared/domain/validate.ts';
import { newWebhook, rotateWebhook as rotateRequest } from '../../shared/domain/webhook.ts';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listDeliveries,
  listWebhooks,
  replayDelivery,
  rotateWebhook,
  type WithSecret,
} from '../../shared/hooks/endpoints.ts';
import { type ApiRequest, api } from '../../shared/http/api.ts';
import { parsePageRequest } from '../../shared/http/pagination.ts';
import { pathId, pathSubject } from '../../shared/http/params.ts';
import { type ApiResult, created, json, noContent, resource } from '../../shared/http/response.ts';

/** Git webhook endpoints of an application and their delivery log; deliveries arrive at functions/hook. */
const base = '/api/v1/apps/{id}/webhooks';
const appId = (req: ApiRequest) => pathId(req.params.id, 'app', 'Application');
const hookId = (req: ApiRequest) => pathId(req.params.hook_id, 'hook', 'Webhook');
const endpointUrl = (hook: { app_id: string; id: string }) => `/api/v1/apps/${hook.app_id}/webhooks/${hook.id}`;

/**
 * An answer holding a secret, shown once: a replay of it (Idempotency-Key) answers the endpoint
 * without the secret, which is never stored outside Secrets Manager.
 */
function withSecret(statusCode: 200 | 201, hook: WithSecret): ApiResult {
  const { secret: _shownOnce, ...endpoint } = hook;
  const answer = (body: object): ApiResult => {
    const result = statusCode === 201 ? created(hook, endpointUrl(hook)) : json(200, body);
    return { ...result, body: JSON.stringify(body), headers: { ...result.headers, 'cache-control': 'no-store' } };
  };
  return { ...answer(hook), stored: answer(endpoint) };
}

export const handler = api({
  [`POST ${base}`]: async (req) => withSecret(201, await createWebhook(req.caller, appId(req), req.body(newWebhook))),

  [`GET ${base}`]: async (req) => json(200, await listWebhooks(req.caller, appId(req), parsePageRequest(req.query))),

  [`GET ${base}/{hook_id}`]: async (req) => resource(200, await getWebhook(req.caller, appId(req), hookId(req))),

  [`DELETE ${base}/{hook_id}`]: async (req) => {
    await deleteWebhook(req.caller, appId(req), hookId(req));
    return noContent();
  },

  [`POST ${base}/{hook_id}/rotate`]: async (req) => {
    // The body is optional: without one, the default overlap.
    const { overlap_hours } = req.text ? req.body(rotateRequest) : validate(rotateRequest, {});
    return withSecret(200, await rotateWebhook(req.caller, appId(req), hookId(req), overlap_hours));
  },

  [`GET ${base}/{hook_id}/deliveries`]: async (req) =>
    json(200, await listDeliveries(req.caller, appId(req), hookId(req), parsePageRequest(req.query))),

  [`POST ${base}/{hook_id}/deliveries/{delivery_id}/replay`]: async (req) => {
    const delivery = pathSubject(req.params.delivery_id, 'Delivery');
    const replayed = await replayDelivery(req.caller, appId(req), hookId(req), delivery);
    return json(202, replayed, { location: `${endpointUrl({ app_id: appId(req), id: hookId(req) })}/deliveries` });
  },
});
