/**
 * How a run moves: each move is computed from the run as read and written on the condition that
 * it is still that version, so two movers (the workflow and a cancel) never overwrite each other's
 * stages; the one that loses reads again. A move into a final state also leaves the run's lane and
 * lowers its pipeline's count of runs in progress, in the same commit: both happen exactly once.
 */

import type { RunStage, RunView } from '../domain/run.ts';
import { busy, isError } from '../errors.ts';
import type { RunEventType } from '../events/catalog.ts';
import { type Actor, recordChange } from '../events/outbox.ts';
import { countChild } from '../store/records.ts';
import { commit, getMany, type Write } from '../store/table.ts';
import { recordMetric } from '../telemetry/metrics.ts';
import { pipelineKeys } from './keys.ts';
import { FINAL_RUN, type RunItem, runEventData } from './model.ts';

export class RunNotFound extends Error {
  override name = 'RunNotFound';
}

/** A step found its run ended already (cancelled): it must not act, and the workflow ends. */
export class RunFinished extends Error {
  override name = 'RunFinished';
}

export async function loadRun(id: string): Promise<RunItem> {
  const [item] = await getMany([pipelineKeys.run(id)]);
  if (!item) throw new RunNotFound(`Run ${id} does not exist`);
  return item as RunItem;
}

/** For steps that act (start a build or a deployment): a run that has ended goes no further. */
export async function loadActiveRun(id: string): Promise<RunItem> {
  const run = await loadRun(id);
  if (FINAL_RUN.has(run.state)) throw new RunFinished(`Run ${id} has already ended (${run.state})`);
  return run;
}

/** The platform acts for the person who started the run, within their request. */
export const requesterOf = (run: RunItem): Actor => ({
  sub: run.requested_by,
  requestId: run._request_id as string | undefined,
});

export interface RunMove {
  /** Fields to set: the state, the stages (always whole), the image, the reason. */
  set: Partial<Pick<RunView, 'state' | 'stages' | 'image' | 'reason' | 'started_at'>>;
  event?: RunEventType;
  /** Who made this move when a person did (a cancel); otherwise the requester. */
  by?: Actor;
}

/** The run after `move`, and the writes that make it so if the run is still at the version read. */
export function runMoveWrites(run: RunItem, move: RunMove): { item: RunItem; writes: Write[] } {
  const now = new Date().toISOString();
  const ends = move.set.state !== undefined && FINAL_RUN.has(move.set.state);
  const set: Record<string, unknown> = { ...move.set, updated_at: now, ...(ends ? { finished_at: now } : {}) };
  const item = { ...run, ...set, version: (run.version as number) + 1 } as RunItem;
  const names: Record<string, string> = { '#version': 'version' };
  const values: Record<string, unknown> = { ':expected': run.version, ':one': 1 };
  const sets = ['#version = #version + :one'];
  Object.entries(set).forEach(([field, value], i) => {
    names[`#f${i}`] = field;
    values[`:v${i}`] = value;
    sets.push(`#f${i} = :v${i}`);
  });
  const writes: Write[] = [
    {
      update: pipelineKeys.run(run.id),
      set: `SET ${sets.join(', ')}`,
      condition: '#version = :expected',
      names,
      values,
      onFail: runChanged,
    },
    ...(move.event
      ? [
          recordChange(move.by ?? requesterOf(run), {
            type: move.event,
            subject: `run/${run.id}`,
            project_id: run.project_id,
            data: runEventData(item),
          }),
        ]
      : []),
    ...(ends
      ? [
          { delete: pipelineKeys.laneEntry(run.pipeline_id, run.commit.ref, run.id), onFail: runChanged },
          countChild(pipelineKeys.pipeline(run.pipeline_id), '_active_runs', -1, 'Pipeline'),
        ]
      : []),
  ];
  return { item, writes };
}

/** After a committed move: a run that ended counts by its outcome. */
export function runMoved(run: RunItem): void {
  if (FINAL_RUN.has(run.state)) recordMetric('PipelineRunsFinished', 1, { Outcome: run.state });
}

const runChanged = () => busy('run-changed', 'The run changed meanwhile; read it again.');

/**
 * Reads the run, asks `decide` how it moves (undefined: it does not), and commits that at the
 * version read; a run changed meanwhile is read and decided again. Answers the moved run, or
 * undefined when `decide` left it as it was.
 */
export async function moveRun(
  id: string,
  decide: (run: RunItem) => RunMove | undefined | Promise<RunMove | undefined>,
): Promise<RunItem | undefined> {
  for (let attempt = 1; ; attempt++) {
    const run = await loadRun(id);
    const move = await decide(run);
    if (!move) return undefined;
    const { item, writes } = runMoveWrites(run, move);
    try {
      await commit(writes);
      runMoved(item);
      return item;
    } catch (error) {
      if (!isError(error, 'run-changed') || attempt >= 5) throw error;
    }
  }
}

/** The stages with `name` changed by `change`. */
export const stagesWith = (stages: readonly RunStage[], name: string, change: Partial<RunStage>): RunStage[] =>
  stages.map((stage) => (stage.name === name ? { ...stage, ...change } : stage));

/** A stage that starts now, acting for the run's requester. */
export const started = (run: RunView, extra: Partial<RunStage>): Partial<RunStage> => ({
  state: 'running',
  started_at: new Date().toISOString(),
  actor: run.requested_by,
  ...extra,
});

/** A stage that ends now, in `state`. */
export const ended = (state: RunStage['state'], reason?: string): Partial<RunStage> => ({
  state,
  finished_at: new Date().toISOString(),
  ...(reason ? { reason: reason.slice(0, 1000) } : {}),
});
