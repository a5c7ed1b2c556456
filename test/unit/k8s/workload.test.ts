import { describe, expect, it } from 'vitest';
import { renderDeployment, type WorkloadInput } from '../../../shared/k8s/workload.ts';

const input: WorkloadInput = {
  app: { id: 'app_01J0', name: 'web', labels: { team: 'checkout' } },
  env: { name: 'prod', namespace: 'shop-prod' },
  image: 'ghcr.io/acme/web:1.4.2',
  replicas: 3,
  deploymentId: 'dep_01J9',
  revision: 7,
  progressDeadlineSeconds: 300,
};

describe('the Deployment Slipway renders for a release', () => {
  it('is an apps/v1 Deployment named after the app in the environment namespace', () => {
    const deployment = renderDeployment(input);
    expect(deployment).toMatchObject({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop-prod' },
      spec: { replicas: 3, progressDeadlineSeconds: 300 },
    });
  });

  it('runs one container named after the app, with the release image', () => {
    const containers = renderDeployment(input).spec?.template.spec?.containers;
    expect(containers).toEqual([{ name: 'web', image: 'ghcr.io/acme/web:1.4.2' }]);
  });

  it('selects its pods by the name label only, and the pods carry it', () => {
    const spec = renderDeployment(input).spec;
    expect(spec?.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'web' } });
    expect(spec?.template.metadata?.labels).toMatchObject(spec?.selector.matchLabels ?? { missing: true });
  });

  it('keeps the app labels but never lets them override the name or the manager', () => {
    const labels = renderDeployment({
      ...input,
      app: {
        ...input.app,
        labels: { team: 'checkout', 'app.kubernetes.io/name': 'evil', 'app.kubernetes.io/managed-by': 'helm' },
      },
    }).metadata?.labels;
    expect(labels).toEqual({
      team: 'checkout',
      'app.kubernetes.io/name': 'web',
      'app.kubernetes.io/managed-by': 'slipway',
    });
  });

  it('records the deployment and revision on the Deployment and on its pods', () => {
    const deployment = renderDeployment(input);
    const expected = { 'slipway.dev/deployment-id': 'dep_01J9', 'slipway.dev/revision': '7' };
    expect(deployment.metadata?.annotations).toEqual(expected);
    expect(deployment.spec?.template.metadata?.annotations).toEqual(expected);
  });

  it('changes the pod template between releases of the same image, so each release rolls out', () => {
    const first = renderDeployment(input).spec?.template;
    const second = renderDeployment({ ...input, deploymentId: 'dep_01JA', revision: 8 }).spec?.template;
    expect(second).not.toEqual(first);
  });

  it('translates the rollout strategy', () => {
    expect(renderDeployment(input).spec?.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: {} });
    const rolling = renderDeployment({
      ...input,
      strategy: { type: 'RollingUpdate', max_surge: '50%', max_unavailable: 0 },
    });
    expect(rolling.spec?.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: '50%', maxUnavailable: 0 },
    });
    expect(renderDeployment({ ...input, strategy: { type: 'Recreate' } }).spec?.strategy).toEqual({ type: 'Recreate' });
  });

  it('works for an app without labels', () => {
    const labels = renderDeployment({ ...input, app: { id: 'app_01J0', name: 'web' } }).metadata?.labels;
    expect(labels).toEqual({ 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/managed-by': 'slipway' });
  });
});
