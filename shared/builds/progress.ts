/**
 * How the build workflow moves a build along: each move sets fields (the state among them) and
 * commits its change event in the same write. A build that has reached a final state never moves
 * again, so a late or repeated step (a retried Lambda, the watch after a stop) changes nothing.
 */
import { conflict, isError } from '../errors.ts';
import type { BuildEventType } from '../events/catalog.ts';
import { type Actor, recordChange } from '../events/outbox.ts';
import { commit, getMany, type Item, type Write } from '../store/table.ts';
import { recordMetric } from '../telemetry/metrics.ts';
import { buildKeys } from './keys.ts';
import { type BuildView, eventData, FINAL_STATES } from './model.ts';

export type Build = Item & BuildView;

/** The workflow's input names a build that does not exist: nothing to do, and retrying cannot help. */
export class BuildNotFound extends Error {
  override name = 'BuildNotFound';
}

/** A step found its build final already (cancelled): it must not act, and the workflow ends. */
export class BuildFinished extends Error {
  override name = 'BuildFinished';
}

export async function loadBuild(id: string): Promise<Build> {
  const [item] = await getMany([buildKeys.build(id)]);
  if (!item) throw new BuildNotFound(`Build ${id} does not exist`);
  return item as Build;
}

/** The platform acts for the person who asked for the build, within their request. */
export const actorOf = (build: Item): Actor => ({
  sub: build.requested_by as string,
  requestId: build._request_id as string | undefined,
});

export interface BuildMove {
  set: Record<string, unknown>;
  /** Change event type, e.g. `Build Succeeded`. */
  event?: BuildEventType;
  /** More writes in the same commit (a log chunk). */
  also?: Write[];
  /** Who made this move, when a person did (a cancel); the event is theirs, not the requester's. */
  by?: Actor;
  /** A condition besides "not final" (the log position a chunk was written after). */
  condition?: { expression: string; names: Record<string, string>; values: Record<string, unknown> };
}

/**
 * Applies `move` unless the build is final (or the extra condition fails). Answers the build as it
 * now stands, or undefined when it did not move.
 */
export async function advanceBuild(build: Build, move: BuildMove): Promise<Build | undefined> {
  const now = new Date().toISOString();
  const set: Record<string, unknown> = { ...move.set, updated_at: now };
  if (typeof set.state === 'string' && FINAL_STATES.has(set.state as never)) set.finished_at = now;
  const names: Record<string, string> = { '#state': 'state', '#version': 'version', ...move.condition?.names };
  const values: Record<string, unknown> = { ':one': 1, ...move.condition?.values };
  const finals = [...FINAL_STATES];
  finals.forEach((state, i) => {
    values[`:final${i}`] = state;
  });
  const sets = ['#version = #version + :one'];
  Object.entries(set).forEach(([field, value], i) => {
    names[`#f${i}`] = field;
    values[`:v${i}`] = value;
    sets.push(`#f${i} = :v${i}`);
  });
  const after = { ...build, ...set, version: (build.version as number) + 1 } as Build;
  const writes: Write[] = [
    {
      update: buildKeys.build(build.id),
      set: `SET ${sets.join(', ')}`,
      condition: [
        `attribute_exists(PK) AND NOT #state IN (${finals.map((_, i) => `:final${i}`).join(', ')})`,
        ...(move.condition ? [move.condition.expression] : []),
      ].join(' AND '),
      names,
      values,
      onFail: () => conflict('build-moved', 'The build has finished or moved on meanwhile.'),
    },
    ...(move.event
      ? [
          recordChange(move.by ?? actorOf(build), {
            type: move.event,
            subject: `build/${build.id}`,
            project_id: build.project_id,
            data: eventData(after),
          }),
        ]
      : []),
    ...(move.also ?? []),
  ];
  try {
    await commit(writes);
  } catch (error) {
    if (isError(error, 'build-moved')) return undefined;
    throw error;
  }
  if (set.finished_at) recordMetric('BuildsFinished', 1, { Outcome: after.state });
  return after;
}
