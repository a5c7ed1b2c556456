/**
 * The deployments API: a deploy or a rollback is recorded `queued` (shared/delivery/model.ts says
 * what a deployment is) and its state machine started; the workflow steps move it along
 * (shared/delivery/progress.ts). Here too: cancel, status, and the lists.
 */
import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import { appScope, envScope } from '../auth/scope.ts';
import { calendarKeys } from '../calendar/keys.ts';
import type { DeployRequest, FreezeOverride, NewRollback } from '../domain/deployment.ts';
import { inferTier } from '../domain/environment.ts';
import type { ActiveFreeze } from '../domain/freeze.ts';
import { conflict, invalid, notFound, unprocessable } from '../errors.ts';
import { recordChange } from '../events/outbox.ts';
import { deploysPerEnvironment, type Meter, type Metering } from '../quotas/meter.ts';
import { newId } from '../store/ids.ts';
import { keys } from '../store/keys.ts';
import type { Page, PageRequest } from '../store/paging.ts';
import { present } from '../store/records.ts';
import { type AlsoCommit, commit, getMany, type Item, queryPage } from '../store/table.ts';
import { traceId } from '../telemetry/trace-context.ts';
import { closePendingApproval, type Vote } from './approvals.ts';
import { enqueue, queueOf, release } from './environment-lock.ts';
import { checkFreezeAtRequest, overridden } from './freeze-check.ts';
import { deliveryIndexes, deliveryKeys } from './keys.ts';
import {
  type DeploymentOrigin,
  type DeploymentView,
  eventData,
  eventNoun,
  FINAL_STATES,
  type FreezeOverrideRecord,
  statusUrl,
} from './model.ts';
import { advance } from './progress.ts';
import { rollbackTarget } from './releases.ts';
import { deploymentQueued } from './telemetry.ts';
import { startWorkflow, stopWorkflow, workflowUnavailable } from './workflow.ts';

/** When a deploy names no deadline: Kubernetes' own default for progressDeadlineSeconds. */
const DEFAULT_DEADLINE_SECONDS = 600;

/**
 * `POST /apps/{id}/deploy`: 202 with the queued deployment; the workflow takes it from there. A
 * deploy stage of a pipeline run (`runId`) is recorded the same way, and its run's workflow runs
 * the deploy workflow as a nested execution instead of this starting it.
 */
export async function requestDeployment(
  caller: Caller,
  appId: string,
  input: DeployRequest,
  alsoCommit: AlsoCommit<DeploymentView>,
  metering: Metering,
  { runId, origin }: LaunchOptions = {},
): Promise<DeploymentView> {
  const target = await readTarget(caller, appId, input.env, 'deploy', metering, input.override_freeze);
  const current = target.head?.current as Item | undefined;
  return launch(caller, 'deploy', target, alsoCommit, {
    ...(runId ? { run_id: runId } : {}),
    ...(origin ? { origin } : {}),
    image: resolveImage(target.app.image_repository as string, input.image),
    replicas: input.replicas ?? (current?.replicas as number | undefined) ?? 1,
    strategy: input.strategy ?? (current?.strategy as Record<string, unknown> | undefined) ?? { type: 'rolling' },
    progress_deadline_seconds: input.progress_deadline_seconds ?? DEFAULT_DEADLINE_SECONDS,
    ...(input.description ? { description: input.description } : {}),
    ...(input.commit ? { commit: input.commit } : {}),
  });
}

/** `POST /rollbacks`: one call back to an earlier release, through the rollback workflow. */
export async function requestRollback(
  caller: Caller,
  input: NewRollback,
  alsoCommit: AlsoCommit<DeploymentView>,
  metering: Metering,
  { origin }: LaunchOptions = {},
): Promise<DeploymentView> {
  const target = await readTarget(caller, input.app_id, input.env, 'rollback', metering, input.override_freeze);
  const release = await rollbackTarget(input.app_id, input.env, target.head, input.target_revision);
  return launch(caller, 'rollback', target, alsoCommit, {
    ...(origin ? { origin } : {}),
    image: release.image,
    replicas: release.replicas,
    strategy: release.strategy,
    progress_deadline_seconds: release.progress_deadline_seconds ?? DEFAULT_DEADLINE_SECONDS,
    target_revision: release.revision,
    ...(input.description ? { description: input.description } : {}),
  });
}

/** Who else asked for a deployment: the pipeline run it is a stage of, or its origin (a schedule, a promotion). */
export interface LaunchOptions {
  runId?: string;
  origin?: DeploymentOrigin;
}

interface Target {
  app: Item;
  env: Item;
  head: Item | undefined;
  /** The environment's deploy quota, and its counter as read with the rest (no extra round trip). */
  quota: Meter;
  counter: Item | undefined;
  /** `override_freeze` as recorded, and the freeze in force it goes past. */
  freeze: { override?: FreezeOverrideRecord; met?: ActiveFreeze };
}

/** Everything a deploy or rollback reads, in one BatchGetItem: grants, app, env, release head, quota counter, freeze rules. */
async function readTarget(
  caller: Caller,
  appId: string,
  envName: string,
  kind: 'deploy' | 'rollback',
  metering: Metering,
  override: FreezeOverride | undefined,
): Promise<Target> {
  const quota = metering(deploysPerEnvironment, `${appId}#${envName}`);
  const { access, items } = await signInAndRead(caller, [
    keys.app(appId),
    keys.env(appId, envName),
    deliveryKeys.releaseHead(appId, envName),
    quota.key,
    calendarKeys.freezeRules(),
  ]);
  const [app, env, head, counter, rules] = items;
  if (!app) throw notFound('Application');
  const scope = envScope(app.project_id as string, appId, envName);
  access.require(kind === 'deploy' ? 'deployment.create' : 'rollback.create', scope, 'app.read', 'Application');
  if (!env) throw notFound('Environment');
  const freeze = checkFreezeAtRequest(caller, access, scope, kind, rules, override);
  return { app, env, head, quota, counter, freeze };
}

async function launch(
  caller: Caller,
  kind: 'deploy' | 'rollback',
  { app, env, quota, counter, freeze }: Target,
  alsoCommit: AlsoCommit<DeploymentView>,
  spec: Record<string, unknown>,
): Promise<DeploymentView> {
  const id = newId('dep');
  const now = new Date().toISOString();
  const appId = app.id as string;
  const envName = env.name as string;
  const trace = traceId();
  const view: DeploymentView = {
    id,
    kind,
    app_id: appId,
    app_name: app.name as string,
    project_id: app.project_id as string,
    env: envName,
    // An environment stored before tiers existed has the tier its name suggests (as its view shows).
    tier: (env.tier as string | undefined) ?? inferTier(envName),
    ...(spec as Pick<DeploymentView, 'image' | 'replicas' | 'strategy' | 'progress_deadline_seconds'>),
    ...(freeze.override ? { freeze_override: freeze.override } : {}),
    state: 'queued',
    steps: [{ state: 'queued', at: now, actor: caller.sub }],
    requested_by: caller.sub,
    status_url: statusUrl(id),
    ...(trace ? { trace_id: trace } : {}),
    created_at: now,
    updated_at: now,
  };
  const item: Item = {
    ...deliveryKeys.deployment(id),
    GSI1PK: deliveryIndexes.deploymentsOfEnv(appId, envName),
    GSI1SK: id,
    GSI2PK: deliveryIndexes.deploymentsOfApp(appId),
    GSI2SK: id,
    ...view,
    version: 1,
    ...(caller.requestId ? { _request_id: caller.requestId } : {}),
  };
  await commit([
    // Over the environment's quota, the whole create is refused (429): no deployment, queue entry or event.
    quota.charge(),
    { put: item, condition: 'attribute_not_exists(PK)', onFail: () => conflict('already-exists', 'Deployment exists') },
    enqueue({ appId, env: envName }, id, now),
    recordChange(caller, {
      type: kind === 'deploy' ? 'Deployment Queued' : 'Rollback Queued',
      subject: `deployment/${id}`,
      project_id: view.project_id,
      data: eventData(view),
    }),
    ...(freeze.override && freeze.met ? [overridden(caller, view, freeze.override, freeze.met)] : []),
    ...alsoCommit(view),
  ]);
  quota.chargedAfter(counter);
  deploymentQueued(view);
  if (view.run_id) return view;
  try {
    await startWorkflow(kind, id);
  } catch (error) {
    // Recorded but never started: end it as failed and leave the queue, so nothing waits behind it.
    await advance(item as Item & DeploymentView, {
      step: { state: 'failed', detail: `the workflow could not be started: ${(error as Error).name}` },
      set: { reason: 'the workflow could not be started' },
      event: `${eventNoun(view)} Failed`,
    });
    await release({ appId, env: envName }, id);
    throw workflowUnavailable();
  }
  return view;
}

/** A tag or digest is completed with the app's repository; a full reference must name that repository. */
export function resolveImage(repository: string, image: string): string {
  if (image.startsWith('sha256:')) return `${repository}@${image}`;
  if (!image.includes('/') && !image.includes(':') && !image.includes('@')) return `${repository}:${image}`;
  const repo = repositoryOf(image);
  if (repo === image) throw invalid('image needs a tag or digest.', [{ name: 'image', reason: 'no tag or digest' }]);
  if (repo !== repository) {
    throw unprocessable(
      'image-repository-mismatch',
      `The image must come from the application's repository ${repository}, not ${repo}.`,
    );
  }
  return image;
}

/** The repository of a full reference, without its tag or digest (the reference itself when it has neither). */
export function repositoryOf(image: string): string {
  const at = image.indexOf('@');
  const colon = image.lastIndexOf(':');
  return at >= 0 ? image.slice(0, at) : colon > image.lastIndexOf('/') ? image.slice(0, colon) : image;
}

/**
 * `POST /deployments/{id}/cancel`: ends it `cancelled` (with its approval, if one is pending), then
 * stops its workflow and frees its environment. Recorded first, so nothing can record it otherwise:
 * a step already running when the workflow stops finds the deployment final and acts no further.
 * Whoever may start such a deployment may cancel it.
 */
export async function cancelDeployment(caller: Caller, id: string, reason: string | undefined) {
  const { access, items } = await signInAndRead(caller, [deliveryKeys.deployment(id)]);
  const deployment = items[0] as (Item & DeploymentView) | undefined;
  if (!deployment) throw notFound('Deployment');
  const permission = deployment.kind === 'rollback' ? 'rollback.create' : 'deployment.create';
  const scope = envScope(deployment.project_id, deployment.app_id, deployment.env);
  access.require(permission, scope, 'app.read', 'Deployment');
  if (FINAL_STATES.has(deployment.state)) throw alreadyFinished(deployment.state);

  const detail = `cancelled by ${caller.sub}${reason ? `: ${reason}` : ''}`;
  const cancelled = await advance(deployment, {
    step: { state: 'cancelled', actor: caller.sub, detail },
    set: { reason: detail },
    event: `${eventNoun(deployment)} Cancelled`,
    also: await closePendingApproval(deployment, 'cancelled'),
    by: caller,
  });
  // It finished between our read and our write.
  if (!cancelled) throw alreadyFinished((await getDeployment(caller, id)).deployment.state);
  await stopWorkflow(deployment.kind, id, detail);
  await release({ appId: deployment.app_id, env: deployment.env }, id);
  return present<DeploymentView>(cancelled);
}

const alreadyFinished = (state: string) =>
  conflict('deployment-final', `The deployment has already finished (${state}); there is nothing to cancel.`);

export async function getDeployment(
  caller: Caller,
  id: string,
): Promise<{ deployment: DeploymentView; version: number }> {
  const { access, items } = await signInAndRead(caller, [deliveryKeys.deployment(id)]);
  const item = items[0];
  if (!item || !access.can('app.read', appScope(item.project_id as string, item.app_id as string))) {
    throw notFound('Deployment');
  }
  return { deployment: present<DeploymentView>(item), version: item.version as number };
}

/** `GET /deployments/{id}/status`: the steps so far, rollout counts, queue position and approval. */
export async function deploymentStatus(caller: Caller, id: string) {
  const { deployment } = await getDeployment(caller, id);
  const envRef = { appId: deployment.app_id, env: deployment.env };
  const [queue, approval] = await Promise.all([
    FINAL_STATES.has(deployment.state) ? undefined : queueOf(envRef),
    deployment.approval_id ? getMany([deliveryKeys.approval(deployment.approval_id)]).then((r) => r[0]) : undefined,
  ]);
  const position = queue?.waiting.find((w) => w.deployment_id === id)?.position;
  const votes = (approval?.votes ?? []) as Vote[];
  return {
    id,
    state: deployment.state,
    final: FINAL_STATES.has(deployment.state),
    steps: deployment.steps,
    ...(deployment.rollout ? { rollout: deployment.rollout } : {}),
    ...(deployment.reason ? { reason: deployment.reason } : {}),
    ...(deployment.trace_id ? { trace_id: deployment.trace_id } : {}),
    ...(queue ? { queue: { holder: queue.holder?.deployment_id ?? null, position: position ?? null } } : {}),
    ...(approval
      ? {
          approval: {
            id: approval.id,
            state: approval.state,
            approvals: votes.filter((v) => v.decision === 'approve').length,
            minimum_approvals: approval.minimum_approvals,
            expires_at: approval.expires_at,
            votes: votes.map(({ by, decision, at, via }) => ({ by, decision, at, ...(via ? { via } : {}) })),
          },
        }
      : {}),
  };
}

/** `GET /deployments?app_id=…[&env=…]`, newest first. */
export async function listDeployments(
  caller: Caller,
  appId: string | undefined,
  env: string | undefined,
  page: PageRequest,
): Promise<Page<DeploymentView>> {
  if (!appId) throw invalid('app_id is required.', [{ name: 'app_id', reason: 'missing' }]);
  const { access, items } = await signInAndRead(caller, [keys.app(appId)]);
  const app = items[0];
  if (!app || !access.can('app.read', appScope(app.project_id as string, appId))) throw notFound('Application');
  const result = await queryPage(
    env
      ? { index: 'GSI1', partition: deliveryIndexes.deploymentsOfEnv(appId, env), page, newestFirst: true }
      : { index: 'GSI2', partition: deliveryIndexes.deploymentsOfApp(appId), page, newestFirst: true },
  );
  return { items: result.items.map((i) => present<DeploymentView>(i)), next_cursor: result.next_cursor };
}
