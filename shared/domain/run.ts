import * as z from 'zod/mini';
import { type Commit, commit } from './commit.ts';

/**
 * A run: one commit going through one version of a pipeline. Its stages mirror the definition's
 * (in the order they run) and name the build or deployment each started, so a run reads as the
 * story of that commit: built into which image, deployed where, by whom, with what outcome.
 */

/** `POST /pipelines/{id}/run` */
export const runRequest = z.strictObject({ commit });

/** A branch name stands for its full ref, so `main` and `refs/heads/main` are one concurrency group. */
export const fullRef = (ref: string): string => (ref.startsWith('refs/') ? ref : `refs/heads/${ref}`);

/** Where a run ends: once in one of these, it never moves again. */
export const FINAL_RUN_STATES = ['succeeded', 'failed', 'cancelled'] as const;
export const RUN_STATES = ['queued', 'running', ...FINAL_RUN_STATES] as const;
export type RunState = (typeof RUN_STATES)[number];

export const STAGE_STATES = ['pending', 'running', 'succeeded', 'failed', 'cancelled', 'skipped'] as const;
export type StageState = (typeof STAGE_STATES)[number];

export interface RunStage {
  name: string;
  type: 'build' | 'deploy';
  /** Deploy stages: the environment. */
  env?: string;
  state: StageState;
  started_at?: string;
  finished_at?: string;
  /** Who the stage acts for: the person (or trigger) that started the run. */
  actor?: string;
  build_id?: string;
  deployment_id?: string;
  reason?: string;
}

export interface RunView {
  id: string;
  pipeline_id: string;
  pipeline_name: string;
  /** The version of the pipeline's definition this run runs (later edits do not change it). */
  pipeline_version: number;
  app_id: string;
  app_name: string;
  project_id: string;
  commit: Commit;
  /** False for pull-request runs: they build and deploy nothing. */
  deploy: boolean;
  state: RunState;
  stages: RunStage[];
  /** What the build produced, `<image_repository>@sha256:…`: what every deploy stage deploys. */
  image?: string;
  reason?: string;
  /** The run this one retries. */
  retry_of?: string;
  requested_by: string;
  url: string;
  created_at: string;
  updated_at: string;
  started_at?: string;
  finished_at?: string;
}
