/**
 * How the workflow steps move a deployment along: each move appends a step, may set fields, and
 * commits its change event in the same write. A deployment that has reached a final state never
 * moves again, so a late or repeated step (a retried Lambda, a redelivered task) changes nothing.
 */
import { conflict, isError } from '../errors.ts';
import type { DeploymentEventType } from '../events/catalog.ts';
import { type Actor, type Change, recordChange } from '../events/outbox.ts';
import { commit, getMany, type Item, type Write } from '../store/table.ts';
import { deliveryKeys } from './keys.ts';
import { type DeploymentState, type DeploymentView, eventData, FINAL_STATES, type Step } from './model.ts';
import { deploymentMoved } from './telemetry.ts';

export class DeploymentNotFound extends Error {
  override name = 'DeploymentNotFound';
}

/** A step found its deployment final already (cancelled): it must not act, and the workflow ends. */
export class DeploymentFinished extends Error {
  override name = 'DeploymentFinished';
}

/**
 * For a step about to act (open an approval, apply to the cluster): the move is its last check
 * that the deployment has not ended meanwhile (a cancel between its read and now).
 */
export async function advanceBeforeActing(
  deployment: Item & DeploymentView,
  move: Move,
): Promise<Item & DeploymentView> {
  const moved = await advance(deployment, move);
  if (!moved) {
    throw new DeploymentFinished(`Deployment ${deployment.id} ended while this step ran; nothing more is done`);
  }
  return moved;
}

/** For steps that act (lock, approval, cluster): a deployment that has ended (cancelled) stops the workflow. */
export async function loadActiveDeployment(id: string): Promise<Item & DeploymentView> {
  const deployment = await loadDeployment(id);
  if (FINAL_STATES.has(deployment.state)) {
    throw new DeploymentFinished(`Deployment ${id} has already ended (${deployment.state}); nothing more is done`);
  }
  return deployment;
}

export async function loadDeployment(id: string): Promise<Item & DeploymentView> {
  const [item] = await getMany([deliveryKeys.deployment(id)]);
  if (!item) throw new DeploymentNotFound(`Deployment ${id} does not exist`);
  return item as Item & DeploymentView;
}

/** The platform acts for the person who asked for the deployment, within their request. */
export const actorOf = (deployment: Item) => ({
  sub: deployment.requested_by as string,
  requestId: deployment._request_id as string | undefined,
});

export interface Move {
  /** Appended to the steps; omitted for a field-only update (rollout counts). */
  step?: { state: DeploymentState; detail?: string; actor?: string };
  set?: Record<string, unknown>;
  /** Change event type, e.g. `Deployment Succeeded`. */
  event?: DeploymentEventType;
  /** More writes in the same commit (release records, lock). */
  also?: Write[];
  /** Who made this move, when a person did (a cancel); the event is theirs, not the requester's. */
  by?: Actor;
  /** When it happened, if the `also` writes already used that instant (the DORA counters); default now. */
  at?: string;
}

/**
 * Applies `move` unless the deployment is already final. Answers the deployment as it now stands,
 * or undefined when it had ended (the caller's copy is left as it was read).
 */
export async function advance(
  deployment: Item & DeploymentView,
  move: Move,
): Promise<(Item & DeploymentView) | undefined> {
  const now = move.at ?? new Date().toISOString();
  const names: Record<string, string> = { '#state': 'state', '#version': 'version', '#updated': 'updated_at' };
  const values: Record<string, unknown> = { ':one': 1, ':now': now };
  const sets = ['#updated = :now', '#version = #version + :one'];
  const finals = [...FINAL_STATES];
  finals.forEach((s, i) => {
    values[`:final${i}`] = s;
  });
  const set = { ...move.set };
  let step: Step | undefined;
  if (move.step) {
    step = { state: move.step.state, at: now, actor: move.step.actor ?? 'slipway' };
    if (move.step.detail) step.detail = move.step.detail.slice(0, 2000);
    set.state = move.step.state;
    if (FINAL_STATES.has(move.step.state)) set.finished_at = now;
    names['#steps'] = 'steps';
    values[':step'] = [step];
    sets.push('#steps = list_append(#steps, :step)');
  }
  Object.entries(set).forEach(([field, value], i) => {
    names[`#f${i}`] = field;
    values[`:v${i}`] = value;
    sets.push(`#f${i} = :v${i}`);
  });
  const after = { ...deployment, ...set } as DeploymentView;
  const writes: Write[] = [
    {
      update: deliveryKeys.deployment(deployment.id),
      set: `SET ${sets.join(', ')}`,
      condition: `attribute_exists(PK) AND NOT #state IN (${finals.map((_, i) => `:final${i}`).join(', ')})`,
      names,
      values,
      onFail: () => conflict('deployment-final', 'The deployment has already finished.'),
    },
    ...(move.event ? [recordChange(move.by ?? actorOf(deployment), deploymentChange(after, move.event))] : []),
    ...(move.also ?? []),
  ];
  try {
    await commit(writes);
  } catch (error) {
    if (isError(error, 'deployment-final')) return undefined;
    throw error;
  }
  if (step) deploymentMoved(deployment, step.state, now);
  return {
    ...deployment,
    ...set,
    ...(step ? { steps: [...deployment.steps, step] } : {}),
    updated_at: now,
    version: (deployment.version as number) + 1,
  } as Item & DeploymentView;
}

export const deploymentChange = (d: DeploymentView, type: DeploymentEventType): Change<DeploymentEventType> => ({
  type,
  subject: `deployment/${d.id}`,
  project_id: d.project_id,
  data: eventData(d),
});
