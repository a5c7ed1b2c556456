import { workflowStep } from '../../shared/delivery/step.ts';
import { type BuildOutput, failRun, nextStage, startBuild, takeTurn } from '../../shared/pipelines/stages.ts';

/** What the pipeline workflow passes each step: the action, the run, and the action's fields. */
interface RunStepInput {
  action: string;
  run_id: string;
  build?: BuildOutput;
  error?: unknown;
}

/** The steps of statemachines/pipeline.asl.json (shared/pipelines/stages.ts says what each does). */
export const handler = workflowStep<RunStepInput>({
  turn: ({ run_id }) => takeTurn(run_id),
  build: ({ run_id }) => startBuild(run_id),
  next: ({ run_id, build }) => nextStage(run_id, build),
  failed: ({ run_id, error }) => failRun(run_id, error),
});
