import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  ownedAs,
  renderDeployment,
  unlabelledSlipwayDeployment,
  type WorkloadInput,
} from '../../../shared/k8s/workload.ts';

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

  it('keeps the app labels but never lets them override the name, the manager or the owner', () => {
    const labels = renderDeployment({
      ...input,
      app: {
        ...input.app,
        labels: {
          team: 'checkout',
          'app.kubernetes.io/name': 'evil',
          'app.kubernetes.io/managed-by': 'helm',
          'slipway.dev/app-id': 'app_someone_else',
          'slipway.dev/env': 'theirs',
        },
      },
    }).metadata?.labels;
    expect(labels).toEqual({
      team: 'checkout',
      'app.kubernetes.io/name': 'web',
      'app.kubernetes.io/managed-by': 'slipway',
      'slipway.dev/app-id': 'app_01J0',
      'slipway.dev/env': 'prod',
    });
  });

  it('names its owner, the app id and the environment, on the Deployment and its pods, as valid label values', () => {
    const id = 'app_01jd0000000000000000000000';
    const deployment = renderDeployment({ ...input, app: { id, name: 'web' } });
    const owner = { 'slipway.dev/app-id': id, 'slipway.dev/env': 'prod' };
    expect(deployment.metadata?.labels).toMatchObject(owner);
    expect(deployment.spec?.template.metadata?.labels).toMatchObject(owner);
    // Kubernetes label values: at most 63 characters, alphanumeric at both ends, -_. inside.
    for (const value of Object.values(owner))
      expect(value).toMatch(/^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
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
    expect(labels).toEqual({
      'app.kubernetes.io/name': 'web',
      'app.kubernetes.io/managed-by': 'slipway',
      'slipway.dev/app-id': 'app_01J0',
      'slipway.dev/env': 'prod',
    });
  });
});

describe('whose a Deployment on the cluster is', () => {
  const desired = renderDeployment(input);
  const found = (labels: Record<string, string> | undefined, annotations?: Record<string, string>): V1Deployment => ({
    metadata: { name: 'web', namespace: 'shop-prod', labels, annotations },
  });
  const ours = { ...desired.metadata?.labels };

  it('ours when it carries the manager and owner labels of this app and environment', () => {
    expect(ownedAs(found(ours), desired)).toBe(true);
    expect(ownedAs(found({ ...ours, team: 'changed-by-hand' }), desired)).toBe(true);
  });

  it.each([
    ['no labels at all', undefined],
    ['only the name label (someone else’s web)', { 'app.kubernetes.io/name': 'web' }],
    ['another environment of the same app', { ...ours, 'slipway.dev/env': 'staging' }],
    ['another app with the same name', { ...ours, 'slipway.dev/app-id': 'app_01J1' }],
    ['another manager', { ...ours, 'app.kubernetes.io/managed-by': 'helm' }],
    ['an earlier Slipway’s, without owner labels', { 'app.kubernetes.io/managed-by': 'slipway' }],
  ])('not ours: %s', (_case, labels) => {
    expect(ownedAs(found(labels), desired)).toBe(false);
  });

  it('an unlabelled Deployment of an earlier Slipway names the deployment that applied it; nothing else does', () => {
    const annotation = { 'slipway.dev/deployment-id': 'dep_01J8' };
    expect(unlabelledSlipwayDeployment(found({ 'app.kubernetes.io/managed-by': 'slipway' }, annotation))).toBe(
      'dep_01J8',
    );
    expect(unlabelledSlipwayDeployment(found({ 'app.kubernetes.io/name': 'web' }, annotation))).toBeUndefined();
    expect(unlabelledSlipwayDeployment(found({ ...ours, 'slipway.dev/env': 'staging' }, annotation))).toBeUndefined();
    expect(unlabelledSlipwayDeployment(found({ 'app.kubernetes.io/managed-by': 'slipway' }))).toBeUndefined();
  });
});
