/**
 * The freeze check of a deployment, twice: when it is asked for (shared/delivery/deployments.ts)
 * and just before the workflow applies it (shared/delivery/cluster-rollout.ts). Both read the
 * freeze rules item with the reads they already make, so the check costs no extra round trip
 * (ADR 25). A deployment that waited into a freeze (in the queue, for approval) fails `frozen`
 * rather than waiting, so it never holds the environment lock through the freeze.
 */
import type { Access } from '../auth/access.ts';
import type { Caller } from '../auth/caller.ts';
import { envScope, projectOf } from '../auth/scope.ts';
import type { FreezeOverride } from '../domain/deployment.ts';
import { type ActiveFreeze, activeFreeze, type FreezeRule, frozen } from '../domain/freeze.ts';
import { forbidden } from '../errors.ts';
import { type Actor, recordChange } from '../events/outbox.ts';
import type { Item, Write } from '../store/table.ts';
import type { DeploymentView, FreezeOverrideRecord } from './model.ts';
import { actorOf } from './progress.ts';

const rulesOf = (item: Item | undefined) => (item?.rules ?? []) as FreezeRule[];

/**
 * At request time: a freeze in force refuses the deployment (409 `frozen`) unless it comes with
 * `override_freeze` from a holder of freeze.override there (403 without it, whether or not a
 * freeze is in force). Answers the override to record on the deployment, and the freeze it passes now.
 */
export function checkFreezeAtRequest(
  caller: Caller,
  access: Access,
  scope: string,
  kind: 'deploy' | 'rollback',
  rules: Item | undefined,
  override: FreezeOverride | undefined,
): { override?: FreezeOverrideRecord; met?: ActiveFreeze } {
  if (override && !access.can('freeze.override', scope)) {
    throw forbidden(`Deploying through a freeze needs the freeze.override permission on ${scope}.`);
  }
  const met = activeFreeze(rulesOf(rules), scope, kind, new Date());
  if (met && !override) throw frozen(met);
  if (!override) return {};
  const record = { reason: override.reason, by: caller.sub, ...(met ? { freeze: freezeRef(met) } : {}) };
  return { override: record, ...(met ? { met } : {}) };
}

/** A step found its deployment frozen: it ends `failed` with this as its reason, and frees its environment. */
export class Frozen extends Error {
  override name = 'Frozen';
}

/**
 * Just before the cluster: the same check for a deployment that waited. Without an override it
 * fails (`Frozen`); with one, going past a freeze it did not name when asked for is told as an
 * override now (the writes to commit with the step's move).
 */
export function checkFreezeBeforeApply(deployment: Item & DeploymentView, rules: Item | undefined): Write[] {
  const scope = envScope(deployment.project_id, deployment.app_id, deployment.env);
  const met = activeFreeze(rulesOf(rules), scope, deployment.kind, new Date());
  if (!met) return [];
  const override = deployment.freeze_override;
  if (!override) {
    throw new Frozen(
      `frozen: ${met.name} (${met.scope}) began while the deployment waited and lasts until ${met.ends_at}; nothing was applied. Ask again after it, or with override_freeze.`,
    );
  }
  if (override.freeze?.id === met.freeze_id) return [];
  return [overridden(actorOf(deployment), deployment, { ...override, freeze: freezeRef(met) }, met)];
}

/** The `Freeze Overridden` event of a deployment going past `met` (the caller's when asked, its requester's at the apply). */
export function overridden(
  actor: Actor,
  deployment: Pick<DeploymentView, 'id' | 'kind' | 'project_id' | 'app_name' | 'env' | 'image' | 'status_url'>,
  override: FreezeOverrideRecord,
  met: ActiveFreeze,
): Write {
  return recordChange(actor, {
    type: 'Freeze Overridden',
    subject: `freeze/${met.freeze_id}`,
    project_id: projectOf(met.scope) ?? deployment.project_id,
    data: {
      action: deployment.kind,
      freeze: { id: met.freeze_id, name: met.name, scope: met.scope, ends_at: met.ends_at },
      by: override.by,
      reason: override.reason,
      deployment_id: deployment.id,
      app_name: deployment.app_name,
      env: deployment.env,
      image: deployment.image,
      url: deployment.status_url,
    },
  });
}

const freezeRef = (met: ActiveFreeze) => ({ id: met.freeze_id, name: met.name, ends_at: met.ends_at });
