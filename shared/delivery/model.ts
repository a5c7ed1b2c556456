/**
 * What a deployment is, as the API shows it and the workflow steps move it. A deployment is one
 * attempt to put an image on an environment (or, for kind `rollback`, to put back an earlier
 * release): the API creates it `queued`, the workflow moves it along and records every step.
 */
import type { DeployedCommit } from '../domain/commit.ts';
import { type DeploymentState, FINAL_DEPLOYMENT_STATES } from '../domain/deployment.ts';

export { DEPLOYMENT_STATES, type DeploymentState } from '../domain/deployment.ts';
export const FINAL_STATES: ReadonlySet<DeploymentState> = new Set(FINAL_DEPLOYMENT_STATES);

export interface Step {
  state: DeploymentState;
  at: string;
  actor: string;
  detail?: string;
}

export interface DeploymentView {
  id: string;
  kind: 'deploy' | 'rollback';
  app_id: string;
  app_name: string;
  project_id: string;
  env: string;
  image: string;
  replicas: number;
  strategy: Record<string, unknown>;
  progress_deadline_seconds: number;
  state: DeploymentState;
  steps: Step[];
  requested_by: string;
  status_url: string;
  target_revision?: number;
  revision?: number;
  reason?: string;
  rollout?: { desired: number; updated: number; ready: number; available: number };
  /** The digest its pods ran once the rollout completed (`sha256:…`): what a promotion copies. */
  digest?: string;
  approval_id?: string;
  /** The pipeline run whose deploy stage this is. */
  run_id?: string;
  /** The environment's tier when the deployment was asked for (production, staging, …). */
  tier?: string;
  /** What asked for it besides a person: a schedule's fire, or a promotion from another environment. */
  origin?: DeploymentOrigin;
  /** The commit shipped, when known (the request's, or the pipeline run's): the DORA lead time starts there. */
  commit?: DeployedCommit;
  /** Asked for with `override_freeze` by a holder of freeze.override: why, who, and the freeze in force then (if any). */
  freeze_override?: FreezeOverrideRecord;
  /** The X-Ray trace of the request that created it; its workflow's steps run in the same trace. */
  trace_id?: string;
  created_at: string;
  updated_at: string;
  finished_at?: string;
}

export type DeploymentOrigin =
  | { kind: 'schedule'; schedule_id: string; fire_time: string }
  | { kind: 'promotion'; from_env: string; from_revision: number };

export interface FreezeOverrideRecord {
  reason: string;
  by: string;
  /** The freeze it went past when asked for; absent when none was in force yet (it still covers one met later). */
  freeze?: { id: string; name: string; ends_at: string };
}

const API = '/api/v1';
export const statusUrl = (id: string) => `${API}/deployments/${id}/status`;

/** Events about a rollback say so: `Rollback Succeeded`, `Deployment Failed`. */
export const eventNoun = (d: Pick<DeploymentView, 'kind'>) => (d.kind === 'rollback' ? 'Rollback' : 'Deployment');

/** What events about a deployment carry: enough for a chat line and an audit entry. */
export const eventData = (
  d: Pick<DeploymentView, 'id' | 'kind' | 'app_id' | 'app_name' | 'env' | 'image'> & Partial<DeploymentView>,
) => ({
  deployment_id: d.id,
  kind: d.kind,
  app_id: d.app_id,
  app_name: d.app_name,
  env: d.env,
  image: d.image,
  ...(d.state ? { state: d.state } : {}),
  ...(d.requested_by ? { requested_by: d.requested_by } : {}),
  ...(d.revision ? { revision: d.revision } : {}),
  ...(d.target_revision ? { target_revision: d.target_revision } : {}),
  ...(d.reason ? { reason: d.reason } : {}),
  ...(d.freeze_override ? { freeze_override: d.freeze_override } : {}),
  url: statusUrl(d.id),
});

/** The data of every `slipway.deployments` event. */
export type DeploymentEventData = ReturnType<typeof eventData>;
