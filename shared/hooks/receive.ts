/**
 * The public hook route's use case: authenticate a delivery (before anything of it is parsed or
 * stored), then store it once per provider delivery id, deciding at once what needs no pipeline
 * (ping, ignored events, deletions, refusals), and recording a `Git … Received` change event in
 * the same transaction for what the dispatcher must match against pipelines.
 */
import { checkRepository, type GitEvent, gitEvent } from '../domain/git-event.ts';
import type { DeliveryOutcome, DeliveryView } from '../domain/webhook.ts';
import { type DomainError, invalid, isError, notFound, unprocessable } from '../errors.ts';
import { recordChange } from '../events/outbox.ts';
import { ID_PATTERN } from '../store/ids.ts';
import { keys } from '../store/keys.ts';
import { present } from '../store/records.ts';
import { commit, getMany, type Item, updateOne, type Write } from '../store/table.ts';
import { recordMetric, WEBHOOK_REFUSALS } from '../telemetry/metrics.ts';
import { DELIVERY_RETENTION_SECONDS, hookIndexes, hookKeys } from './keys.ts';
import { acceptedSecrets, readHookSecrets } from './secrets.ts';
import { type Provider, UNKNOWN_ENDPOINT_SECRETS, verifyDelivery } from './signature.ts';

export interface SignedDelivery {
  provider: Provider;
  hookId: string;
  /** `X-Hub-Signature-256` (GitHub) or `X-Gitlab-Token` (GitLab). */
  proof: string | undefined;
  body: string;
}

/**
 * The endpoint a delivery is proven to come from, or undefined. An unknown endpoint is checked
 * against a secret nobody holds, and both failures count the same counter: same work, same answer.
 */
export async function authenticate(delivery: SignedDelivery): Promise<Item | undefined> {
  const known = ID_PATTERN.test(delivery.hookId) && delivery.hookId.startsWith('hook_');
  const [endpoint] = known ? await getMany([hookKeys.endpoint(delivery.hookId)]) : [undefined];
  const usable = endpoint?.provider === delivery.provider ? endpoint : undefined;
  const secrets = usable
    ? acceptedSecrets(await readHookSecrets(delivery.hookId, usable.secret_version as number))
    : UNKNOWN_ENDPOINT_SECRETS;
  if (usable && verifyDelivery(delivery.provider, delivery.proof, delivery.body, secrets)) return usable;
  if (!usable) verifyDelivery(delivery.provider, delivery.proof, delivery.body, secrets);
  await countRefusal(delivery.provider);
  recordMetric('WebhookDeliveriesRefused', 1, { Provider: delivery.provider, Reason: 'unauthenticated' });
  return undefined;
}

/** Refused deliveries leave one counter per provider and day, and nothing else. */
async function countRefusal(provider: Provider): Promise<void> {
  const day = new Date().toISOString().slice(0, 10);
  await updateOne({
    update: hookKeys.refusals(provider, day),
    set: 'ADD refused :one SET expiresAt = if_not_exists(expiresAt, :ttl)',
    values: { ':one': 1, ':ttl': Math.floor(Date.now() / 1000) + 90 * 86400 },
    onFail: () => unprocessable('refusal-count', 'unreachable'),
  });
}

export interface Received {
  /** 202 for a new delivery, 200 for a redelivery (with the first one's outcome). */
  status: 200 | 202;
  delivery: DeliveryView;
}

const DELIVERY_ID = /^[\x21-\x22\x24-\x7e]{1,128}$/;

/** Stores a verified delivery once; a refusal is stored as such and then raised (422). */
export async function receiveDelivery(
  endpoint: Item,
  input: { eventName: string | undefined; deliveryId: string | undefined; payload: unknown },
): Promise<Received> {
  const hookId = endpoint.id as string;
  if (!input.eventName || input.eventName.length > 64) throw invalid('The event header is missing.');
  if (!input.deliveryId || !DELIVERY_ID.test(input.deliveryId)) {
    throw invalid(
      'The delivery id header (X-GitHub-Delivery, Idempotency-Key or X-Gitlab-Event-UUID) is missing or malformed.',
    );
  }
  const key = hookKeys.delivery(hookId, input.deliveryId);
  // The application as it is now: its bound repository may have changed since the endpoint was made.
  const [first, app] = await getMany([key, keys.app(endpoint.app_id as string)]);
  if (first) return { status: 200, delivery: present<DeliveryView>(first) };
  if (!app) throw notFound('Application');

  const git = gitEvent(endpoint.provider as Provider, input.eventName, input.payload);
  const receivedMs = Date.now();
  const { outcome, refusal } = decide(endpoint, (app.repository as { url: string }).url, git);
  const item: Item = {
    ...key,
    GSI2PK: hookIndexes.deliveriesOfEndpoint(hookId),
    GSI2SK: `${new Date(receivedMs).toISOString()}#${input.deliveryId}`,
    hook_id: hookId,
    delivery_id: input.deliveryId,
    event: input.eventName,
    received_at: new Date(receivedMs).toISOString(),
    received_ms: receivedMs,
    ...('ref' in git ? { ref: git.ref, sha: git.sha } : {}),
    outcome,
    ...(outcome.status === 'pending' ? { dispatch_id: input.deliveryId, _git: git } : { duration_ms: 0 }),
    expiresAt: Math.floor(receivedMs / 1000) + DELIVERY_RETENTION_SECONDS,
  };
  try {
    await commit([
      {
        put: item,
        condition: 'attribute_not_exists(PK)',
        onFail: () => unprocessable('redelivery', 'stored meanwhile'),
      },
      ...effects(endpoint, git, input.deliveryId, outcome),
    ]);
  } catch (error) {
    // The same delivery arriving at once: the first to commit wins, the others answer its outcome.
    if (!isError(error, 'redelivery') && !isError(error, 'concurrent-modification')) throw error;
    const [stored] = await getMany([key]);
    if (!stored) throw error;
    return { status: 200, delivery: present<DeliveryView>(stored) };
  }
  if (refusal) {
    const reason = (WEBHOOK_REFUSALS as readonly string[]).includes(refusal.code) ? refusal.code : 'other';
    recordMetric('WebhookDeliveriesRefused', 1, { Provider: endpoint.provider as Provider, Reason: reason });
    throw refusal;
  }
  return { status: 202, delivery: present<DeliveryView>(item) };
}

function decide(
  endpoint: Item,
  repositoryUrl: string,
  git: GitEvent,
): { outcome: DeliveryOutcome; refusal?: DomainError } {
  if (git.kind === 'ping') return { outcome: { status: 'ignored', reason: 'ping: the endpoint is verified' } };
  if (git.kind === 'ignored') return { outcome: { status: 'ignored', reason: git.reason } };
  const refuse = (refusal: DomainError) => ({
    outcome: { status: 'refused' as const, reason: refusal.message },
    refusal,
  });
  if (!(endpoint.events as string[]).includes(git.event)) {
    return refuse(unprocessable('event-not-enabled', `This endpoint was not created for ${git.event} events.`));
  }
  try {
    checkRepository(git.repository, {
      url: repositoryUrl,
      repositoryId: endpoint.repository_id as string | undefined,
    });
  } catch (error) {
    return refuse(error as DomainError);
  }
  if (git.kind === 'push' && git.deleted) return { outcome: { status: 'ignored', reason: `${git.ref} was deleted` } };
  if (git.kind === 'push' && git.event === 'push' && git.commits === 0) {
    return { outcome: { status: 'ignored', reason: `the push to ${git.ref} has no commits` } };
  }
  return { outcome: { status: 'pending' } };
}

/** What commits with the delivery: a ping verifies the endpoint; a pending one is an event for the dispatcher. */
function effects(endpoint: Item, git: GitEvent, deliveryId: string, outcome: DeliveryOutcome): Write[] {
  const hookId = endpoint.id as string;
  if (git.kind === 'ping') {
    return [
      {
        update: hookKeys.endpoint(hookId),
        set: 'SET verified_at = :now',
        condition: 'attribute_exists(PK)',
        values: { ':now': new Date().toISOString() },
        onFail: () => unprocessable('endpoint-gone', 'The endpoint was deleted.'),
      },
    ];
  }
  if (outcome.status !== 'pending' || (git.kind !== 'push' && git.kind !== 'pull_request')) return [];
  return [
    recordChange(
      { sub: `hook:${hookId}` },
      {
        type: git.kind === 'push' ? 'Git Push Received' : 'Git Pull Request Received',
        subject: `webhook/${hookId}`,
        project_id: endpoint.project_id as string,
        data: {
          hook_id: hookId,
          app_id: endpoint.app_id as string,
          delivery_id: deliveryId,
          dispatch_id: deliveryId,
          ref: git.ref,
          sha: git.sha,
        },
      },
    ),
  ];
}
