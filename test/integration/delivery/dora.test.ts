import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from '../seed.ts';
import { pngIsBlank, wellFormedXml } from './picture.ts';
import { deploy, type Scene, startScene, statusWhen } from './scene.ts';

/**
 * The four DORA metrics of a history seeded through the API, checked against a hand computation
 * from the deployments' own records (their finished_at and commit times).
 *
 * dev:  D1 ok (commit 3 h before) · D2 bad image, rolled back · D3 ok (commit 2 h) · D4 ok (commit 1 h)
 *       · R1 a rollback from D4 back to D3, within the window: D4 becomes a change failure.
 * qa:   D5 bad image on an empty environment: failed (nothing to go back to) · D6 ok, no commit named.
 */
let scene: Scene;
const at = {} as Record<'D1' | 'D2' | 'D3' | 'D4' | 'R1' | 'D5' | 'D6', number>;
const committed = {} as Record<'D1' | 'D3' | 'D4', number>;
const started = Date.now();
const day = (offset: number) => new Date(started + offset * 86_400_000).toISOString().slice(0, 10);
const commitAt = (hoursAgo: number) => ({
  sha: hoursAgo.toString(16).padStart(40, 'c'),
  committed_at: new Date(started - hoursAgo * 3_600_000).toISOString(),
});

async function finishedAt(id: string, state: string): Promise<number> {
  expect((await statusWhen(scene.developer, id)).state).toBe(state);
  const { body } = await scene.developer.get(`/api/v1/deployments/${id}`);
  return Date.parse(body.finished_at);
}

async function deployed(env: string, image: string, state: string, commit?: ReturnType<typeof commitAt>) {
  const reply = await deploy(scene.developer, scene.app.id, { env, image, ...(commit ? { commit } : {}) });
  expect(reply.status, reply.text).toBe(202);
  return finishedAt(reply.body.id, state);
}

beforeAll(async () => {
  scene = await startScene();
  await create(scene.admin, `/api/v1/apps/${scene.app.id}/envs`, {
    name: 'qa',
    cluster_id: scene.cluster.id,
    namespace: 'shop-qa',
  });
  const c1 = commitAt(3);
  const c3 = commitAt(2);
  const c4 = commitAt(1);
  [committed.D1, committed.D3, committed.D4] = [c1, c3, c4].map((c) => Date.parse(c.committed_at)) as [
    number,
    number,
    number,
  ];
  at.D1 = await deployed('dev', '1.0.0', 'succeeded', c1);
  at.D2 = await deployed('dev', 'bad', 'rolled_back', commitAt(5));
  at.D3 = await deployed('dev', '1.0.2', 'succeeded', c3);
  at.D4 = await deployed('dev', '1.0.3', 'succeeded', c4);
  const rollback = await scene.developer.post('/api/v1/rollbacks', { app_id: scene.app.id, env: 'dev' });
  expect(rollback.status, rollback.text).toBe(202);
  at.R1 = await finishedAt(rollback.body.id, 'succeeded');
  at.D5 = await deployed('qa', 'bad', 'failed');
  at.D6 = await deployed('qa', '2.0.0', 'succeeded');
}, 120_000);
afterAll(() => scene?.cloud.stop());

const mean = (...ms: number[]) => Math.round((ms.reduce((a, b) => a + b, 0) / ms.length / 1000) * 1000) / 1000;
const range = () => `from=${day(-1)}&to=${day(1)}`;
const metricsOf = async (query: string) => {
  const reply = await scene.developer.get(`/api/v1/metrics/dora?${query}&${range()}`);
  expect(reply.status, reply.text).toBe(200);
  return reply.body;
};

describe('DORA metrics of a seeded history', () => {
  it('dev: three deploys in three days, two change failures of four, two recoveries', async () => {
    const report = await metricsOf(`app_id=${scene.app.id}&env=dev`);
    expect(report).toMatchObject({
      project_id: scene.project.id,
      app_id: scene.app.id,
      name: scene.app.name,
      env: 'dev',
      interval: 'day',
    });
    expect(report.metrics).toEqual({
      deployment_frequency: { deployments: 3, per_day: 1, band: 'elite' },
      lead_time_for_changes: {
        mean_seconds: mean(at.D1 - committed.D1, at.D3 - committed.D3, at.D4 - committed.D4),
        changes: 3,
        band: 'elite',
      },
      // D2 rolled back by itself; D4 was rolled back by R1 within the 24 h window.
      change_failure_rate: { rate: 0.5, failures: 2, deployments: 4, band: 'low' },
      // D2 → D3, and D4 → R1 (the rollback that replaced it).
      failed_deployment_recovery_time: {
        mean_seconds: mean(at.D3 - at.D2, at.R1 - at.D4),
        recoveries: 2,
        band: 'elite',
      },
    });
    expect(report.series.map((p: { start: string }) => p.start)).toEqual([day(-1), day(0), day(1)]);
  });

  it('qa: a failed first deploy and its recovery, no lead time without a commit', async () => {
    const { metrics } = await metricsOf(`app_id=${scene.app.id}&env=qa`);
    expect(metrics.change_failure_rate).toEqual({ rate: 0.5, failures: 1, deployments: 2, band: 'low' });
    expect(metrics.failed_deployment_recovery_time).toMatchObject({ mean_seconds: mean(at.D6 - at.D5), recoveries: 1 });
    expect(metrics.lead_time_for_changes).toEqual({ mean_seconds: null, changes: 0, band: null });
    expect(metrics.deployment_frequency).toMatchObject({ deployments: 1 });
  });

  it('the app and its project add the environments up, by week too', async () => {
    const expected = {
      deployment_frequency: { deployments: 4, per_day: 1.3333, band: 'elite' },
      lead_time_for_changes: { changes: 3 },
      change_failure_rate: { rate: 0.5, failures: 3, deployments: 6, band: 'low' },
      failed_deployment_recovery_time: {
        mean_seconds: mean(at.D3 - at.D2, at.R1 - at.D4, at.D6 - at.D5),
        recoveries: 3,
      },
    };
    expect((await metricsOf(`app_id=${scene.app.id}`)).metrics).toMatchObject(expected);
    const byWeek = await metricsOf(`project_id=${scene.project.id}&interval=week`);
    expect(byWeek.metrics).toMatchObject(expected);
    const weeks = byWeek.series as { deployment_frequency: { deployments: number } }[];
    expect(weeks.reduce((n, w) => n + w.deployment_frequency.deployments, 0)).toBe(4);
  });

  it('a day range without deployments has numbers of zero and no bands', async () => {
    const reply = await scene.developer.get(
      `/api/v1/metrics/dora?app_id=${scene.app.id}&from=2025-01-01&to=2025-01-31`,
    );
    expect(reply.body.metrics.deployment_frequency).toEqual({ deployments: 0, per_day: 0, band: null });
    expect(reply.body.series).toHaveLength(31);
  });
});

describe('the DORA chart', () => {
  let svg: string;
  beforeAll(async () => {
    const reply = await scene.developer.get(`/api/v1/metrics/dora.svg?app_id=${scene.app.id}&env=dev&${range()}`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    expect(reply.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    svg = reply.text;
  });

  it('is well-formed XML with the four metrics, their values and bands', () => {
    expect(wellFormedXml(svg)).toBe(true);
    // Headed by what a person calls the app, not its id.
    expect(svg).toContain(`DORA metrics of ${scene.app.name} / dev`);
    for (const title of [
      'Deployment frequency',
      'Lead time for changes',
      'Change failure rate',
      'Failed deployment recovery time',
    ])
      expect(svg).toContain(`>${title}</text>`);
    expect(svg).toContain('>50.0 % of 4</text>');
    expect(svg).toContain('>low</text>');
  });

  const chromium = ['chromium', 'chromium-browser'].find((bin) => spawnSync('which', [bin]).status === 0);
  it.skipIf(!chromium)(
    'renders in headless Chromium into a picture that is not blank',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'dora-svg-'));
      const file = join(dir, 'dora.svg');
      const png = join(dir, 'dora.png');
      writeFileSync(file, svg);
      const run = spawnSync(
        chromium as string,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          `--user-data-dir=${join(dir, 'profile')}`,
          `--screenshot=${png}`,
          '--window-size=760,380',
          file,
        ],
        { timeout: 60_000, encoding: 'utf8' },
      );
      expect(run.status, run.stderr).toBe(0);
      expect(pngIsBlank(readFileSync(png))).toBe(false);
      if (process.env.DORA_PNG) writeFileSync(process.env.DORA_PNG, readFileSync(png));
    },
    90_000,
  );
  if (!chromium)
    console.log('DORA chart: chromium is not installed (apt-get install chromium); the rendering test is skipped');
});
