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
export const DEPLOYMENT_ID_ANNOTATION = 'slipway.dev/deployment-id';
export const REVISION_ANNOTATION = 'slipway.dev/revision';

/**
 * The Deployment Slipway applies for a release: one container named after the app, selected by
 * the name label only (a selector is immutable, so it holds nothing that may change).
 */
export function renderDeployment(input: WorkloadInput): V1Deployment {
  const { app, env } = input;
  // Ours last: an app label may not take over the selector or the manager.
  const labels = { ...app.labels, [NAME_LABEL]: app.name, [MANAGED_BY_LABEL]: 'slipway' };
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
