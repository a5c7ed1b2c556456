/**
 * Promotion: what runs in one environment goes to another through the normal deploy path (lock
 * queue, approvals, freezes), pinned to the digest its pods ran, so a tag moved since changes nothing.
 */
import type { Caller } from '../auth/caller.ts';
import { signInAndRead } from '../auth/principal.ts';
import { envScope } from '../auth/scope.ts';
import type { PromoteRequest, RolloutStrategy } from '../domain/deployment.ts';
import { invalid, notFound, unprocessable } from '../errors.ts';
import type { Metering } from '../quotas/meter.ts';
import { keys } from '../store/keys.ts';
import type { AlsoCommit } from '../store/table.ts';
import { repositoryOf, requestDeployment } from './deployments.ts';
import { deliveryKeys } from './keys.ts';
import type { DeploymentOrigin, DeploymentView } from './model.ts';
import type { Release } from './releases.ts';

/**
 * `POST /apps/{id}/promote`: 202 with the deployment to `to`. Reading `from` needs env.read there;
 * deploying needs deployment.create on `to` (checked by requestDeployment). A scheduled promotion
 * passes its own origin.
 */
export async function requestPromotion(
  caller: Caller,
  appId: string,
  input: PromoteRequest,
  alsoCommit: AlsoCommit<DeploymentView>,
  metering: Metering,
  { origin }: { origin?: DeploymentOrigin } = {},
): Promise<DeploymentView> {
  if (input.from === input.to) {
    throw invalid('from and to name the same environment: promote to another one.', [
      { name: 'to', reason: 'must differ from from' },
    ]);
  }
  const release = await runningRelease(caller, appId, input.from);
  return requestDeployment(
    caller,
    appId,
    {
      env: input.to,
      image: exactImage(release),
      replicas: release.replicas,
      strategy: release.strategy as RolloutStrategy,
      ...(release.progress_deadline_seconds ? { progress_deadline_seconds: release.progress_deadline_seconds } : {}),
      ...(input.description ? { description: input.description } : {}),
      ...(input.override_freeze ? { override_freeze: input.override_freeze } : {}),
    },
    alsoCommit,
    metering,
    { origin: origin ?? { kind: 'promotion', from_env: input.from, from_revision: release.revision } },
  );
}

/** The current release of `from`: 422 `nothing-to-promote` before its first success. */
async function runningRelease(caller: Caller, appId: string, from: string): Promise<Release> {
  const { access, items } = await signInAndRead(caller, [
    keys.app(appId),
    keys.env(appId, from),
    deliveryKeys.releaseHead(appId, from),
  ]);
  const [app, env, head] = items;
  if (!app) throw notFound('Application');
  access.require('env.read', envScope(app.project_id as string, appId, from), 'app.read', 'Application');
  if (!env) throw notFound('Environment');
  const current = head?.current as Release | undefined;
  if (!current) {
    throw unprocessable('nothing-to-promote', `Environment ${from} has no release yet: deploy there first.`);
  }
  return current;
}

/**
 * The release's image pinned to the digest its pods ran. A release recorded before digests were
 * (or on a runtime that reports none) keeps its own reference.
 */
const exactImage = (release: Release): string =>
  release.digest ? `${repositoryOf(release.image)}@${release.digest}` : release.image;
