import * as z from 'zod/mini';
import { commit } from './commit.ts';
import { resourceId } from './fields.ts';
import { buildStage } from './pipeline.ts';

/** Where a build ends: once in one of these, it never moves again. */
export const FINAL_BUILD_STATES = ['succeeded', 'failed', 'cancelled'] as const;
export const BUILD_STATES = ['queued', 'running', ...FINAL_BUILD_STATES] as const;
export type BuildState = (typeof BUILD_STATES)[number];

const { context, dockerfile, build_args, target, cache } = buildStage.shape;

/**
 * How to build: the same options as a pipeline's build stage. `dockerfile` is relative to the
 * context (as `docker build -f` defaults to `<context>/Dockerfile`).
 */
export const buildOptions = { context, dockerfile, build_args, target, cache };

/** `POST /builds`: a commit of an application, built into `<image_repository>:<sha>`. */
export const newBuild = z.strictObject({ app_id: resourceId('app'), commit, ...buildOptions });

export type NewBuild = z.infer<typeof newBuild>;

/** A build as the API shows it (and as `Build …` events carry it, without the log). */
export interface BuildView {
  id: string;
  app_id: string;
  app_name: string;
  project_id: string;
  /** The pipeline run that started it, if one did. */
  run_id?: string;
  commit: z.infer<typeof commit>;
  context: string;
  dockerfile: string;
  build_args: Record<string, string>;
  target?: string;
  cache: boolean;
  state: BuildState;
  /** `<image_repository>:<sha>`: the tag the build pushes. */
  image: string;
  /** `sha256:…` of what was pushed, once it succeeded: deploy `<image_repository>@<digest>`. */
  digest?: string;
  cluster_id: string;
  /** The Kubernetes Job running it, once started. */
  job?: { namespace: string; name: string };
  /** How much log is stored: its size in bytes and how many chunks hold it. */
  log: { bytes: number; chunks: number };
  reason?: string;
  requested_by: string;
  logs_url: string;
  created_at: string;
  updated_at: string;
  started_at?: string;
  finished_at?: string;
}
