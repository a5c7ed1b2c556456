/**
 * The build stage's way to the builds: the build of a run's commit, recorded through the builds'
 * own use case with the stage's options (not started: the run's workflow runs the build machine
 * nested); `alsoCommit` starts the run's stage in the same transaction, so a build exists exactly
 * when its stage names it.
 */
import { createBuild } from '../builds/builds.ts';
import type { BuildStage } from '../domain/pipeline.ts';
import type { Actor } from '../events/outbox.ts';
import type { Write } from '../store/table.ts';
import type { RunItem } from './model.ts';

export async function requestBuild(
  actor: Actor,
  run: RunItem,
  stage: BuildStage,
  alsoCommit: (buildId: string) => Write[],
): Promise<{ id: string }> {
  const { context, dockerfile, build_args, target, cache } = stage;
  return createBuild(
    actor,
    {
      app_id: run.app_id,
      commit: run.commit,
      run_id: run.id,
      context,
      dockerfile,
      build_args,
      ...(target === undefined ? {} : { target }),
      cache,
    },
    (build) => alsoCommit(build.id),
  );
}
