import type { Key } from '../store/table.ts';

/**
 * Where pipeline records live. A pipeline sits under its own id with every version of its
 * definition beside it (`V#<version>`, zero-padded so they sort), and is listed by application
 * (GSI2). A run sits under its own id and is listed by pipeline (GSI2), newest first (ULIDs). A
 * run that has not ended also holds a place in its lane: one partition per pipeline and ref, in
 * creation order, read consistently to decide which run goes first (the concurrency policy).
 */
export const pipelineKeys = {
  pipeline: (id: string): Key => ({ PK: `PIPELINE#${id}`, SK: 'PIPELINE' }),
  version: (id: string, version: number): Key => ({
    PK: `PIPELINE#${id}`,
    SK: `V#${String(version).padStart(10, '0')}`,
  }),
  /** Names are unique within their application. */
  name: (appId: string, name: string): Key => ({ PK: `PIPELINE_NAME#${appId}#${name}`, SK: 'NAME' }),
  run: (id: string): Key => ({ PK: `RUN#${id}`, SK: 'RUN' }),
  lane: (pipelineId: string, ref: string): string => `LANE#${pipelineId}#${ref}`,
  laneEntry: (pipelineId: string, ref: string, runId: string): Key => ({
    PK: `LANE#${pipelineId}#${ref}`,
    SK: runId,
  }),
};

export const pipelineIndexes = {
  /** GSI2: the pipelines of one application. */
  pipelinesOfApp: (appId: string) => `APP_PIPELINES#${appId}`,
  /** GSI2: the runs of one pipeline. */
  runsOfPipeline: (pipelineId: string) => `PIPELINE_RUNS#${pipelineId}`,
};
