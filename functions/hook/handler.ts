import { authenticate, receiveDelivery } from '../../shared/hooks/receive.ts';
import { PROVIDERS, type Provider } from '../../shared/hooks/signature.ts';
import { parseJsonBody } from '../../shared/http/json.ts';
import { type HttpRequest, MAX_HOOK_BODY_BYTES, publicApi } from '../../shared/http/kernel.ts';
import { unauthorized, unsupportedMediaType } from '../../shared/http/problem.ts';
import { json } from '../../shared/http/response.ts';

/**
 * The public Git hook route: no JWT, the signature is the authentication. Verified first (an
 * unknown endpoint and a bad signature get the same 401), then parsed, stored once, answered 202.
 */
export const handler = publicApi(
  {
    'POST /api/v1/hooks/{provider}/{hook_id}': async (req) => {
      const provider = (PROVIDERS as readonly string[]).includes(req.params.provider ?? '')
        ? (req.params.provider as Provider)
        : 'github';
      const github = provider === 'github';
      const body = req.text ?? '';
      const proof = req.header(github ? 'x-hub-signature-256' : 'x-gitlab-token');
      const endpoint = await authenticate({ provider, hookId: req.params.hook_id ?? '', proof, body });
      if (!endpoint || provider !== req.params.provider) {
        throw unauthorized('The delivery is not signed by this endpoint’s secret, or the endpoint does not exist.');
      }
      const { status, delivery } = await receiveDelivery(endpoint, {
        eventName: req.header(github ? 'x-github-event' : 'x-gitlab-event'),
        deliveryId: github
          ? req.header('x-github-delivery')
          : (req.header('idempotency-key') ?? req.header('x-gitlab-event-uuid')),
        payload: payloadOf(req, body),
      });
      return json(status, delivery);
    },
  },
  { maxBodyBytes: MAX_HOOK_BODY_BYTES },
);

/** JSON, or GitHub's form encoding with the JSON in its `payload` field. */
function payloadOf(req: HttpRequest, body: string): unknown {
  const type = (req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/json') return parseJsonBody(body);
  if (type === 'application/x-www-form-urlencoded')
    return parseJsonBody(new URLSearchParams(body).get('payload') ?? '');
  throw unsupportedMediaType('application/json or application/x-www-form-urlencoded');
}
