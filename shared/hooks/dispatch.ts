/**
 * The hook dispatcher's use case, behind the bus: matches a stored push or pull request against
 * the application's pipelines and starts their runs, acting as the endpoint's creator as they are
 * now (a removed user starts nothing; a revoked binding skips what they may no longer run), then
 * records the outcome on the delivery. A bus retry starts nothing twice: each run commits a marker
 * per dispatch and pipeline, and an existing marker means that run was started already.
 */
import { callerFor } from '../auth/principal.ts';
import type { GitEvent } from '../domain/git-event.ts';
import { matchesPush, type Triggers } from '../domain/pipeline.ts';
import type { DeliveryOutcome } from '../domain/webhook.ts';
import { conflict, isError } from '../errors.ts';
import type { ChangeEventData } from '../events/catalog.ts';
import { pipelineIndexes } from '../pipelines/keys.ts';
import { startRun } from '../pipelines/runs.ts';
import { keys } from '../store/keys.ts';
import { commit, getMany, queryAll } from '../store/table.ts';
import { hookKeys } from './keys.ts';

type Dispatch = ChangeEventData<'Git Push Received'>;
type Triggered = Extract<GitEvent, { kind: 'push' | 'pull_request' }>;

export async function dispatchDelivery(dispatch: Dispatch): Promise<DeliveryOutcome | undefined> {
  const { hook_id: hookId, delivery_id: deliveryId, dispatch_id: dispatchId } = dispatch;
  const [endpoint, delivery] = await getMany([hookKeys.endpoint(hookId), hookKeys.delivery(hookId, deliveryId)]);
  // Gone, dispatched already, or replayed since (the replay's own event dispatches it).
  if (!delivery || delivery.dispatch_id !== dispatchId || delivery.outcome?.status !== 'pending') return undefined;
  const finish = (outcome: DeliveryOutcome) => record(hookId, deliveryId, dispatchId, delivery.received_ms, outcome);
  if (!endpoint)
    return finish({ status: 'refused', reason: 'the endpoint was deleted before the delivery was dispatched' });

  const creator = endpoint.created_by as string;
  const [user] = await getMany([keys.user(creator)]);
  if (!user) return finish({ status: 'refused', reason: `the endpoint's creator ${creator} is no longer a user` });

  const git = delivery._git as Triggered;
  const pipelines = await queryAll({ index: 'GSI2', partition: pipelineIndexes.pipelinesOfApp(dispatch.app_id) });
  const matching = pipelines.filter((p) =>
    git.kind === 'push'
      ? matchesPush(p.triggers as Triggers, { ref: git.ref, ...(git.paths ? { paths: git.paths } : {}) })
      : (p.triggers as Triggers | undefined)?.pull_requests === true,
  );
  if (matching.length === 0) return finish({ status: 'ignored', reason: `no pipeline's triggers match ${git.ref}` });

  const actor = await callerFor(creator, `hook:${dispatchId}`);
  const commitToBuild = {
    sha: git.sha,
    ref: git.ref,
    ...(git.message ? { message: git.message } : {}),
    ...(git.kind === 'push' && git.author ? { author: git.author } : {}),
    ...(git.kind === 'push' && git.committed_at ? { committed_at: git.committed_at } : {}),
  };
  const runs: { pipeline_id: string; run_id: string }[] = [];
  const skipped: { pipeline_id: string; reason: string }[] = [];
  for (const pipeline of matching) {
    const pipelineId = pipeline.id as string;
    const marker = hookKeys.dispatched(dispatchId, pipelineId);
    try {
      const run = await startRun(actor, pipelineId, commitToBuild, {
        deploy: git.kind === 'push',
        alsoCommit: (view) => [
          {
            put: { ...marker, run_id: view.id, expiresAt: Math.floor(Date.now() / 1000) + 30 * 86400 },
            condition: 'attribute_not_exists(PK)',
            onFail: () => conflict('run-dispatched', 'This dispatch started that run already.'),
          },
        ],
      });
      runs.push({ pipeline_id: pipelineId, run_id: run.id });
    } catch (error) {
      if (isError(error, 'run-dispatched')) {
        const [started] = await getMany([marker]);
        runs.push({ pipeline_id: pipelineId, run_id: started?.run_id as string });
      } else if (isError(error, 'forbidden') || isError(error, 'not-found')) {
        skipped.push({ pipeline_id: pipelineId, reason: `${creator} may not run this pipeline (pipeline.run)` });
      } else {
        throw error;
      }
    }
  }
  return finish({
    status: 'dispatched',
    runs,
    ...(skipped.length > 0 ? { skipped } : {}),
    ...(runs.length === 0 ? { reason: "the endpoint's creator may run none of the matching pipelines" } : {}),
  });
}

async function record(
  hookId: string,
  deliveryId: string,
  dispatchId: string,
  receivedMs: number,
  outcome: DeliveryOutcome,
): Promise<DeliveryOutcome> {
  await commit([
    {
      update: hookKeys.delivery(hookId, deliveryId),
      set: 'SET outcome = :o, duration_ms = :d',
      // A replay that started meanwhile records its own outcome.
      condition: 'dispatch_id = :id',
      values: { ':o': outcome, ':d': Date.now() - receivedMs, ':id': dispatchId },
      onFail: () => conflict('replayed', 'The delivery was replayed meanwhile.'),
    },
  ]).catch((error) => {
    if (!isError(error, 'replayed')) throw error;
  });
  return outcome;
}
