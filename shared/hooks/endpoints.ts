/**
 * Webhook endpoints of an application: create (the secret shown once), list, delete, rotate (the
 * new secret shown once, the previous one accepted for an overlap), and the delivery log with its
 * replay. Secrets live in Secrets Manager only (shared/hooks/secrets.ts), never in the table.
 */
import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import type { Permission } from '../auth/roles.ts';
import { appScope } from '../auth/scope.ts';
import { config } from '../config.ts';
import type { DeliveryView, NewWebhook, WebhookView } from '../domain/webhook.ts';
import { conflict, notFound, unprocessable } from '../errors.ts';
import { recordChange } from '../events/outbox.ts';
import { newId } from '../store/ids.ts';
import { keys } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { createRecord, deleteRecord, present, stamp } from '../store/records.ts';
import { commit, type Item, queryPage } from '../store/table.ts';
import { hookIndexes, hookKeys } from './keys.ts';
import { createHookSecrets, deleteHookSecrets, putHookSecrets, readHookSecrets } from './secrets.ts';
import { newHookSecret } from './signature.ts';

/** An answer that holds the secret, the one time it is shown. */
export type WithSecret = WebhookView & { secret: string };

export const hookPath = (provider: string, id: string) => `/api/v1/hooks/${provider}/${id}`;

export async function createWebhook(caller: Caller, appId: string, input: NewWebhook): Promise<WithSecret> {
  const { app } = await readApp(caller, appId, 'webhook.manage');
  const repository = app.repository as { provider: string; url: string };
  if (repository.provider !== input.provider) {
    throw unprocessable(
      'provider-mismatch',
      `The application's repository is on ${repository.provider}, not ${input.provider}.`,
    );
  }
  const id = newId('hook');
  const item: Item = {
    ...hookKeys.endpoint(id),
    GSI2PK: hookIndexes.endpointsOfApp(appId),
    GSI2SK: id,
    ...stamp(id, caller, {
      app_id: appId,
      project_id: app.project_id,
      provider: input.provider,
      events: input.events,
      ...(input.repository_id ? { repository_id: input.repository_id } : {}),
      url: publicHookUrl(input.provider, id),
      secret_version: 1,
    }),
  };
  const view = present<WebhookView>(item);
  const secret = newHookSecret();
  // The secret exists before the endpoint does: a delivery never finds an endpoint without one.
  await createHookSecrets(id, { current: secret });
  try {
    await commit([
      createRecord(item, 'Webhook'),
      recordChange(caller, {
        type: 'Webhook Created',
        subject: `webhook/${id}`,
        project_id: view.project_id,
        data: view,
      }),
    ]);
  } catch (error) {
    await deleteHookSecrets(id).catch(() => undefined);
    throw error;
  }
  return { ...view, secret };
}

export async function listWebhooks(caller: Caller, appId: string, page: PageRequest): Promise<Page<WebhookView>> {
  await readApp(caller, appId, 'webhook.read');
  const result = await queryPage({ index: 'GSI2', partition: hookIndexes.endpointsOfApp(appId), page });
  return { items: result.items.map((i) => present<WebhookView>(i)), next_cursor: result.next_cursor };
}

export async function getWebhook(caller: Caller, appId: string, hookId: string): Promise<WebhookView> {
  return present<WebhookView>((await readEndpoint(caller, appId, hookId, 'webhook.read')).endpoint as Item);
}

export async function deleteWebhook(caller: Caller, appId: string, hookId: string): Promise<void> {
  const { endpoint } = await readEndpoint(caller, appId, hookId, 'webhook.manage');
  await commit([
    deleteRecord(hookKeys.endpoint(hookId), endpoint.version as number, 'Webhook'),
    recordChange(caller, {
      type: 'Webhook Deleted',
      subject: `webhook/${hookId}`,
      project_id: endpoint.project_id as string,
      data: { id: hookId, app_id: appId },
    }),
  ]);
  // The record is gone first: from then on every delivery is an unknown endpoint's.
  await deleteHookSecrets(hookId);
}

/**
 * A new secret, shown once; the previous one stays valid for `overlapHours`, so the provider's
 * setting can be changed without losing deliveries. A rotation during an overlap ends the older one.
 */
export async function rotateWebhook(
  caller: Caller,
  appId: string,
  hookId: string,
  overlapHours: number,
): Promise<WithSecret> {
  const { endpoint } = await readEndpoint(caller, appId, hookId, 'webhook.manage');
  const version = endpoint.version as number;
  const old = await readHookSecrets(hookId, endpoint.secret_version as number);
  const secret = newHookSecret();
  const now = new Date();
  const until = new Date(now.getTime() + overlapHours * 3600_000).toISOString();
  await putHookSecrets(hookId, {
    current: secret,
    ...(overlapHours > 0 ? { previous: old.current, previous_until: until } : {}),
  });
  const changes = {
    secret_version: (endpoint.secret_version as number) + 1,
    rotated_at: now.toISOString(),
    updated_at: now.toISOString(),
    version: version + 1,
  };
  const view = present<WebhookView>({ ...endpoint, ...changes, previous_secret_valid_until: until });
  if (overlapHours === 0) delete view.previous_secret_valid_until;
  // An update, not a put: a ping's verified_at recorded meanwhile stays.
  await commit([
    {
      update: hookKeys.endpoint(hookId),
      set: `SET secret_version = :sv, rotated_at = :now, updated_at = :now, version = :next${
        overlapHours > 0 ? ', previous_secret_valid_until = :until' : ' REMOVE previous_secret_valid_until'
      }`,
      condition: 'version = :v',
      values: {
        ':sv': changes.secret_version,
        ':now': changes.rotated_at,
        ':next': changes.version,
        ':v': version,
        ...(overlapHours > 0 ? { ':until': until } : {}),
      },
      onFail: () => conflict('concurrent-rotation', 'The endpoint changed meanwhile; rotate again.'),
    },
    recordChange(caller, {
      type: 'Webhook Secret Rotated',
      subject: `webhook/${hookId}`,
      project_id: view.project_id,
      data: view,
    }),
  ]);
  return { ...view, secret };
}

/** `GET .../deliveries`, newest first. */
export async function listDeliveries(
  caller: Caller,
  appId: string,
  hookId: string,
  page: PageRequest,
): Promise<Page<DeliveryView>> {
  await readEndpoint(caller, appId, hookId, 'webhook.read');
  const result = await queryPage({
    index: 'GSI2',
    partition: hookIndexes.deliveriesOfEndpoint(hookId),
    page,
    newestFirst: true,
  });
  return { items: result.items.map((i) => present<DeliveryView>(i)), next_cursor: result.next_cursor };
}

/**
 * `POST .../deliveries/{id}/replay`: dispatches a stored push or pull request again, under a new
 * dispatch id (so the runs it starts are new ones). The change event names the admin who asked.
 */
export async function replayDelivery(
  caller: Caller,
  appId: string,
  hookId: string,
  deliveryId: string,
): Promise<DeliveryView> {
  const { endpoint, delivery } = await readEndpoint(caller, appId, hookId, 'webhook.replay', deliveryId);
  if (!delivery) throw notFound('Delivery');
  const git = delivery._git as { kind: string; ref: string; sha: string } | undefined;
  if (git?.kind !== 'push' && git?.kind !== 'pull_request') {
    throw conflict('not-replayable', 'Only a stored push or pull request can be replayed.');
  }
  const now = new Date().toISOString();
  const dispatchId = `${deliveryId}#replay-${Date.now()}`;
  const outcome = { status: 'pending' as const };
  await commit([
    {
      update: hookKeys.delivery(hookId, deliveryId),
      set: 'SET outcome = :o, replayed_at = :now, replayed_by = :by, dispatch_id = :d, received_ms = :ms REMOVE duration_ms',
      condition: 'attribute_exists(PK)',
      values: { ':o': outcome, ':now': now, ':by': caller.sub, ':d': dispatchId, ':ms': Date.now() },
      onFail: () => notFound('Delivery'),
    },
    recordChange(caller, {
      type: git.kind === 'push' ? 'Git Push Received' : 'Git Pull Request Received',
      subject: `webhook/${hookId}`,
      project_id: endpoint.project_id as string,
      data: {
        hook_id: hookId,
        app_id: appId,
        delivery_id: deliveryId,
        dispatch_id: dispatchId,
        ref: git.ref,
        sha: git.sha,
        replay: true,
      },
    }),
  ]);
  const { duration_ms: _d, ...rest } = present<DeliveryView & { duration_ms?: number }>(delivery);
  return { ...rest, outcome, replayed_at: now, replayed_by: caller.sub };
}

const publicHookUrl = (provider: string, id: string) => `${config.publicUrl ?? ''}${hookPath(provider, id)}`;

async function readApp(caller: Caller, appId: string, permission: Permission) {
  const { access, items } = await signInAndRead(caller, [keys.app(appId)]);
  const app = items[0];
  if (!app) throw notFound('Application');
  access.require(permission, appScope(app.project_id as string, appId), 'app.read', 'Application');
  return { app };
}

/** The endpoint (and one of its deliveries) in the sign-in's own read. */
async function readEndpoint(
  caller: Caller,
  appId: string,
  hookId: string,
  permission: Permission,
  deliveryId?: string,
) {
  const { access, items } = await signInAndRead(caller, [
    hookKeys.endpoint(hookId),
    ...(deliveryId ? [hookKeys.delivery(hookId, deliveryId)] : []),
  ]);
  const [endpoint, delivery] = items;
  if (!endpoint || endpoint.app_id !== appId) throw notFound('Webhook');
  access.require(permission, appScope(endpoint.project_id as string, appId), 'app.read', 'Webhook');
  return { endpoint, delivery };
}
