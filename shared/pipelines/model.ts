/**
 * What a run is as stored: its view (shared/domain/run.ts) plus the definition it runs, copied
 * from the pipeline's version when the run was requested, so later edits never change a run.
 */
import type { PipelineDefinition } from '../domain/pipeline.ts';
import { FINAL_RUN_STATES, type RunState, type RunView } from '../domain/run.ts';
import type { Item } from '../store/table.ts';

export type RunItem = Item & RunView & { _definition: PipelineDefinition };

export const FINAL_RUN: ReadonlySet<RunState> = new Set(FINAL_RUN_STATES);
export const isFinal = (run: Pick<RunView, 'state'>) => FINAL_RUN.has(run.state);

const API = '/api/v1';
export const runUrl = (id: string) => `${API}/runs/${id}`;
export const pipelineUrl = (id: string) => `${API}/pipelines/${id}`;

/** What events about a run carry: enough for a chat line with its link, and an audit entry. */
export const runEventData = (run: RunView) => ({
  run_id: run.id,
  pipeline_id: run.pipeline_id,
  pipeline_name: run.pipeline_name,
  app_id: run.app_id,
  app_name: run.app_name,
  commit: { sha: run.commit.sha, ref: run.commit.ref },
  state: run.state,
  requested_by: run.requested_by,
  ...(run.image ? { image: run.image } : {}),
  ...(run.reason ? { reason: run.reason } : {}),
  ...(run.retry_of ? { retry_of: run.retry_of } : {}),
  url: run.url,
});
