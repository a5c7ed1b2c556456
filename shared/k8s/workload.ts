import type { V1Deployment, V1DeploymentStrategy } from '@kubernetes/client-node';

/** How old pods give way to new ones; counts or percentages, as Kubernetes takes them. */
export type RolloutStrategy =
  | { type: 'RollingUpdate'; max_surge?: number | string; max_unavailable?: number | string }
  | { type: 'Recreate' };

export interface WorkloadInput {
  app: { id: string; name: string; labels?: Record<string, string> };
  env: { name: string; namespace: string };
  /** Full reference, tag or digest included. */
  image: string;
  replicas: number;
  strategy?: RolloutStrategy;
  deploymentId: string;
  revision: number;
  progressDeadlineSeconds: number;
}

export const NAME_LABEL = 'app.kubernetes.io/name';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** Which environment owns the object (ADR 12): the deployer changes nothing that lacks these or names another. */
export const APP_ID_LABEL = 'slipway.dev/app-id';
export const ENV_LABEL = 'slipway.dev/env';
export const DEPLOYMENT_ID_ANNOTATION = 'slipway.dev/deployment-id';
export const REVISION_ANNOTATION = 'slipway.dev/revision';

/**
 * The Deployment Slipway applies for a release: one container named after the app, selected by
 * the name label only (a selector is immutable, so it holds nothing that may change).
 */
export function renderDeployment(input: WorkloadInput): V1Deployment {
  const { app, env } = input;
  // Ours last: an app label may not take over the selector, the manager or the owner.
  const labels = {
    ...app.labels,
    [NAME_LABEL]: app.name,
    [MANAGED_BY_LABEL]: 'slipway',
    [APP_ID_LABEL]: app.id,
    [ENV_LABEL]: env.name,
  };
  const annotations = { [DEPLOYMENT_ID_ANNOTATION]: input.deploymentId, [REVISION_ANNOTATION]: String(input.revision) };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app.name, namespace: env.namespace, labels, annotations },
    spec: {
      replicas: input.replicas,
      progressDeadlineSeconds: input.progressDeadlineSeconds,
      selector: { matchLabels: { [NAME_LABEL]: app.name } },
      strategy: deploymentStrategy(input.strategy ?? { type: 'RollingUpdate' }),
      template: {
        // The annotations on the pods make every release a new rollout, even of the same image.
        metadata: { labels, annotations },
        spec: { containers: [{ name: app.name, image: input.image }] },
      },
    },
  };
}

function deploymentStrategy(strategy: RolloutStrategy): V1DeploymentStrategy {
  if (strategy.type === 'Recreate') return { type: 'Recreate' };
  const rollingUpdate: NonNullable<V1DeploymentStrategy['rollingUpdate']> = {};
  if (strategy.max_surge !== undefined) rollingUpdate.maxSurge = strategy.max_surge;
  if (strategy.max_unavailable !== undefined) rollingUpdate.maxUnavailable = strategy.max_unavailable;
  return { type: 'RollingUpdate', rollingUpdate };
}

/**
 * Whether a Deployment found on the cluster is the one `desired` may change: it must carry the
 * manager and owner labels with the values `desired` carries. Anything else — someone else's object,
 * another environment's, or an unlabelled one — is not ours to take over.
 */
export function ownedAs(existing: V1Deployment, desired: V1Deployment): boolean {
  const have = existing.metadata?.labels ?? {};
  const want = desired.metadata?.labels ?? {};
  return [MANAGED_BY_LABEL, APP_ID_LABEL, ENV_LABEL].every((label) => want[label] && have[label] === want[label]);
}

/**
 * The Slipway deployment that last applied a Deployment from before the owner labels existed
 * (managed by slipway, no owner label): only its record can tell whose it is.
 */
export function unlabelledSlipwayDeployment(existing: V1Deployment): string | undefined {
  const { labels = {}, annotations = {} } = existing.metadata ?? {};
  if (labels[MANAGED_BY_LABEL] !== 'slipway' || labels[APP_ID_LABEL] !== undefined) return undefined;
  return annotations[DEPLOYMENT_ID_ANNOTATION];
}
