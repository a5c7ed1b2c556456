/**
 * The build stage's way to the builds: the build of a run's commit, recorded through the builds'
 * own use case with the stage's options; `alsoCommit` starts the run's stage in the same
 * transaction, so a build exists exactly when its stage names it.
 */
import type { Caller } from '../auth/caller.ts';
import type { BuildStage } from '../domain/pipeline.ts';
import type { Write } from '../store/table.ts';
import type { RunItem } from './model.ts';

export async function requestBuild(
  _actor: Caller,
  _run: RunItem,
  _stage: BuildStage,
  _alsoCommit: (buildId: string) => Write[],
): Promise<{ id: string }> {
  throw Object.assign(new Error('Builds are not available yet'), { name: 'BuildsUnavailable' });
}
