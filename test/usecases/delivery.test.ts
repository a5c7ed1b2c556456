import { describe, expect, it } from 'vitest';
import { deliveryKeys } from '../../shared/delivery/keys.ts';
import type { DeploymentView } from '../../shared/delivery/model.ts';
import { advance, loadDeployment } from '../../shared/delivery/progress.ts';
import { type Release, releaseWrites, rollbackTarget } from '../../shared/delivery/releases.ts';
import { Conflict } from '../../shared/errors.ts';
import { commit, getMany, type Item } from '../../shared/store/table.ts';
import { failure, unique } from './callers.ts';

/** Delivery's rules where they live: releases, rollback targets, a deployment's moves. */

/** Records releases with these outcomes, oldest first, as the workflow would. */
async function history(outcomes: Release['outcome'][]) {
  const app = unique('app');
  for (const outcome of outcomes) {
    const [head] = await getMany([deliveryKeys.releaseHead(app, 'prod')]);
    const { writes } = releaseWrites(app, 'prod', head, {
      image: `ghcr.io/acme/api:${outcome}`,
      replicas: 2,
      deployment_id: unique('dep'),
      deployed_by: 'alice',
      deployed_at: new Date().toISOString(),
      outcome,
    } as Omit<Release, 'revision'>);
    await commit(writes);
  }
  const [head] = await getMany([deliveryKeys.releaseHead(app, 'prod')]);
  return { app, head };
}

describe('rollback targets', () => {
  it('goes back to the last success before the current release, past failed attempts', async () => {
    const { app, head } = await history(['succeeded', 'failed', 'rolled_back', 'succeeded']);
    expect((head?.current as Release | undefined)?.revision).toBe(4);
    expect((await rollbackTarget(app, 'prod', head, undefined)).revision).toBe(1);
  });

  it('refuses a named release that did not succeed, and an environment with nothing earlier', async () => {
    const { app, head } = await history(['succeeded', 'failed']);
    const notGood = await failure(rollbackTarget(app, 'prod', head, 2));
    expect(notGood).toBeInstanceOf(Conflict);
    expect(notGood.code).toBe('not-a-good-release');
    const nothing = await failure(rollbackTarget(app, 'prod', head, undefined));
    expect(nothing.code).toBe('no-rollback-target');
  });
});

describe('moving a deployment', () => {
  async function deployment(state: DeploymentView['state']): Promise<Item & DeploymentView> {
    const id = unique('dep');
    const item = {
      ...deliveryKeys.deployment(id),
      id,
      kind: 'deploy',
      app_id: unique('app'),
      app_name: 'api',
      project_id: 'prj_1',
      env: 'prod',
      image: 'ghcr.io/acme/api:1',
      state,
      steps: [],
      requested_by: 'alice',
      version: 1,
    };
    await commit([{ put: item, onFail: () => new Conflict('exists', 'exists') }]);
    return item as unknown as Item & DeploymentView;
  }

  it('appends a step and its state', async () => {
    const d = await deployment('queued');
    expect((await advance(d, { step: { state: 'waiting_for_lock', detail: 'position 1' } }))?.state).toBe(
      'waiting_for_lock',
    );
    const stored = await loadDeployment(d.id);
    expect(stored.state).toBe('waiting_for_lock');
    expect(stored.steps.map((s) => s.state)).toEqual(['waiting_for_lock']);
  });

  it('never moves a deployment that has ended: a late step changes nothing', async () => {
    const d = await deployment('cancelled');
    expect(await advance(d, { step: { state: 'applying' }, event: 'Deployment Started' })).toBeUndefined();
    const stored = await loadDeployment(d.id);
    expect(stored.state).toBe('cancelled');
    expect(stored.steps).toEqual([]);
  });
});
