import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReceivedChangeEvent } from '../../../shared/events/envelope.ts';
import { renderMessage } from '../../../shared/notify/render.ts';

const deployData = {
  deployment_id: 'dep_01jd0000000000000000000000',
  app_id: 'app_01jd0000000000000000000000',
  app_name: 'shop-api',
  env: 'prod',
  image: 'ghcr.io/acme/shop-api:1.4.2',
  actor: 'alice',
  url: 'https://slipway.example.com/deployments/dep_01jd0000000000000000000000',
};

function event(
  type: string,
  data: unknown,
  source: ReceivedChangeEvent['source'] = 'slipway.deployments',
): ReceivedChangeEvent {
  return {
    id: '01JD0000000000000000000000',
    source,
    type,
    time: '2026-11-20T14:03:27.000Z',
    actor: 'usr_bob',
    subject: 'deployment/dep_01jd0000000000000000000000',
    project_id: 'prj_01jd0000000000000000000000',
    data: data as Record<string, unknown>,
  };
}

// Events link deployments on the platform's public URL; the fixtures' URLs are on it.
const publicUrl = process.env.SLIPWAY_PUBLIC_URL;
beforeAll(() => {
  process.env.SLIPWAY_PUBLIC_URL = 'https://slipway.example.com';
});
afterAll(() => {
  if (publicUrl === undefined) delete process.env.SLIPWAY_PUBLIC_URL;
  else process.env.SLIPWAY_PUBLIC_URL = publicUrl;
});

describe('renderMessage', () => {
  it.each([
    ['Deployment Queued', 'info', 'Deploy queued: shop-api to prod', 'alice queued `ghcr.io/acme/shop-api:1.4.2`.'],
    ['Deployment Started', 'info', 'Deploying shop-api to prod', 'Rolling out `ghcr.io/acme/shop-api:1.4.2`.'],
    [
      'Deployment Waiting For Approval',
      'warning',
      'Waiting for approval: shop-api to prod',
      '`ghcr.io/acme/shop-api:1.4.2` needs approval before it rolls out to prod.',
    ],
    ['Deployment Succeeded', 'success', 'Deployed shop-api to prod', '`ghcr.io/acme/shop-api:1.4.2` is live in prod.'],
    [
      'Deployment Failed',
      'failure',
      'Deploy failed: shop-api to prod',
      '`ghcr.io/acme/shop-api:1.4.2` did not roll out.',
    ],
    ['Deployment Rolled Back', 'warning', 'Rolled back shop-api in prod', 'prod is back on the previous revision.'],
    [
      'Deployment Expired',
      'warning',
      'Deploy expired: shop-api to prod',
      'No approval came in time for `ghcr.io/acme/shop-api:1.4.2`; nothing was deployed.',
    ],
    [
      'Deployment Rejected',
      'failure',
      'Deploy rejected: shop-api to prod',
      'alice rejected `ghcr.io/acme/shop-api:1.4.2`; nothing was deployed.',
    ],
    ['Approval Granted', 'success', 'Approved: shop-api to prod', 'alice approved `ghcr.io/acme/shop-api:1.4.2`.'],
    [
      'Approval Rejected',
      'failure',
      'Approval rejected: shop-api to prod',
      'alice rejected `ghcr.io/acme/shop-api:1.4.2`.',
    ],
    ['Rollback Started', 'warning', 'Rolling back shop-api in prod', 'Returning prod to the previous revision.'],
  ])('%s: %s, "%s"', (type, severity, title, text) => {
    expect(renderMessage(event(type, deployData))).toEqual({
      title,
      text,
      severity,
      fields: [
        ['Image', 'ghcr.io/acme/shop-api:1.4.2'],
        ['By', 'alice'],
      ],
      link: { label: 'Open deployment', url: deployData.url },
      footer: 'Slipway · deployment/dep_01jd0000000000000000000000 · 2026-11-20 14:03 UTC',
    });
  });

  it('names the revision and the reason when the event has them', () => {
    const message = renderMessage(
      event('Deployment Rolled Back', { ...deployData, revision: 41, reason: 'readiness probe failed\n  on 3 pods' }),
    );
    expect(message?.text).toBe('prod is back on revision `41`.\nReason: readiness probe failed on 3 pods');
    expect(message?.fields).toContainEqual(['Revision', '41']);
  });

  it('asks for an approval with who, how many, until when, and a link to decide', () => {
    const message = renderMessage(
      event(
        'Approval Requested',
        {
          approval_id: 'apr_01jd0000000000000000000000',
          app_name: 'shop-api',
          env_name: 'prod',
          image: 'ghcr.io/acme/shop-api:1.4.2',
          requested_by: 'alice',
          approver_teams: ['sre', 'security'],
          expires_at: '2026-11-21T14:03:27Z',
          minimum_approvals: 2,
          links: {
            self: 'https://slipway.example.com/api/v1/approvals/apr_1',
            approve: 'https://slipway.example.com/a/1',
          },
        },
        'slipway.approvals',
      ),
    );
    expect(message).toEqual({
      title: 'Approval needed: shop-api to prod',
      text: 'alice asks to deploy `ghcr.io/acme/shop-api:1.4.2`.\nNeeds 2 approvals from sre, security before 2026-11-21 14:03 UTC.',
      severity: 'warning',
      fields: [
        ['Image', 'ghcr.io/acme/shop-api:1.4.2'],
        ['Requested by', 'alice'],
        ['Approvers', 'sre, security'],
        ['Approvals needed', '2'],
        ['Expires', '2026-11-21 14:03 UTC'],
        ['Approval', 'apr_01jd0000000000000000000000'],
      ],
      link: { label: 'Review approval', url: 'https://slipway.example.com/a/1' },
      footer: 'Slipway · deployment/dep_01jd0000000000000000000000 · 2026-11-20 14:03 UTC',
    });
  });

  it('still says something useful when the data is missing', () => {
    expect(renderMessage(event('Deployment Failed', {}))).toEqual({
      title: 'Deploy failed: an app to an environment',
      text: 'The new image did not roll out.',
      severity: 'failure',
      fields: [['By', 'usr_bob']],
      footer: 'Slipway · deployment/dep_01jd0000000000000000000000 · 2026-11-20 14:03 UTC',
    });
    expect(renderMessage(event('Approval Requested', null))?.text).toBe(
      'usr_bob asks to deploy the new image.\nNeeds approval.',
    );
  });

  it('turns the API paths events carry into links on SLIPWAY_PUBLIC_URL, and offers no button without it', () => {
    const relative = { ...deployData, url: '/api/v1/deployments/dep_01jd0000000000000000000000/status' };
    try {
      delete process.env.SLIPWAY_PUBLIC_URL;
      expect(renderMessage(event('Deployment Succeeded', relative))).not.toHaveProperty('link');
      expect(renderMessage(event('Deployment Succeeded', deployData))).not.toHaveProperty('link');
      process.env.SLIPWAY_PUBLIC_URL = 'https://deploy.example.test';
      expect(renderMessage(event('Deployment Succeeded', relative))?.link?.url).toBe(
        'https://deploy.example.test/api/v1/deployments/dep_01jd0000000000000000000000/status',
      );
    } finally {
      process.env.SLIPWAY_PUBLIC_URL = 'https://slipway.example.com';
    }
  });

  it.each([
    'javascript:alert(1)',
    'https://evil.example/deployments/dep_1',
    '//evil.example/deployments/dep_1',
    'https://slipway.example.com.evil.example/x',
    'http://slipway.example.com/x',
  ])('offers no button for %s: only pages of the platform are links', (url) => {
    expect(renderMessage(event('Deployment Succeeded', { ...deployData, url }))).not.toHaveProperty('link');
    const approval = { approval_id: 'apr_1', links: { approve: url } };
    expect(renderMessage(event('Approval Requested', approval, 'slipway.approvals'))).not.toHaveProperty('link');
  });

  it('announces a failed run: which pipeline, commit and ref, why, and a button to the run', () => {
    const message = renderMessage(
      event(
        'Pipeline Run Failed',
        {
          run_id: 'run_01jd0000000000000000000000',
          pipeline_name: 'release',
          app_name: 'shop-api',
          commit: { sha: '0123456789abcdef0123456789abcdef01234567', ref: 'refs/heads/main' },
          state: 'failed',
          requested_by: 'alice',
          reason: 'stage build: BuildFailed: exit code 1',
          url: '/api/v1/runs/run_01jd0000000000000000000000',
        },
        'slipway.pipelines',
      ),
    );
    expect(message).toMatchObject({
      title: 'Pipeline failed: release of shop-api',
      text: 'Commit `0123456789ab` on `main` did not get through.\nReason: stage build: BuildFailed: exit code 1',
      severity: 'failure',
      link: { label: 'Open run', url: 'https://slipway.example.com/api/v1/runs/run_01jd0000000000000000000000' },
    });
    expect(message?.fields).toContainEqual(['Started by', 'alice']);
    for (const quiet of [
      'Pipeline Run Started',
      'Pipeline Run Succeeded',
      'Pipeline Run Cancelled',
      'Pipeline Created',
    ])
      expect(renderMessage(event(quiet, {}, 'slipway.pipelines')), quiet).toBeUndefined();
  });

  it('keeps a backtick in the image from breaking out of its code span', () => {
    const message = renderMessage(event('Deployment Started', { ...deployData, image: 'evil`<!channel>`' }));
    expect(message?.text).toBe("Rolling out `evil'<!channel>'`.");
  });

  it('gives unknown deployment and approval events a generic line, and skips catalog and IAM changes', () => {
    expect(renderMessage(event('Deployment Paused', deployData))).toMatchObject({
      title: 'Deployment Paused: shop-api in prod',
      severity: 'info',
    });
    expect(renderMessage(event('Project Created', { name: 'shop' }, 'slipway.catalog'))).toBeUndefined();
    expect(renderMessage(event('Team Member Added', {}, 'slipway.iam'))).toBeUndefined();
  });

  it('announces a failed build with its commit, reason and a button to its log; other build events stay quiet', () => {
    const build = {
      build_id: 'bld_01jd0000000000000000000000',
      app_name: 'shop-api',
      commit: { sha: 'a'.repeat(40), ref: 'main' },
      image: `ghcr.io/acme/shop-api:${'a'.repeat(40)}`,
      state: 'failed',
      reason: 'the build exited with code 1: ERROR: failed to solve',
      requested_by: 'alice',
      url: '/api/v1/builds/bld_01jd0000000000000000000000/logs',
    };
    expect(renderMessage(event('Build Failed', build, 'slipway.builds'))).toEqual({
      title: 'Build failed: shop-api on main',
      text: `Commit \`${'a'.repeat(12)}\` did not build.\nReason: the build exited with code 1: ERROR: failed to solve`,
      severity: 'failure',
      fields: [
        ['Image', build.image],
        ['Requested by', 'alice'],
        ['Build', build.build_id],
      ],
      link: { label: 'Open build log', url: `https://slipway.example.com${build.url}` },
      footer: 'Slipway · deployment/dep_01jd0000000000000000000000 · 2026-11-20 14:03 UTC',
    });
    for (const type of ['Build Started', 'Build Succeeded', 'Build Cancelled']) {
      expect(renderMessage(event(type, { ...build, state: 'succeeded' }, 'slipway.builds'))).toBeUndefined();
    }
  });

  it('announces a fire that made no deployment: which schedule, as whom, why, and a button to its history', () => {
    const data = {
      fire_time: '2026-11-20T02:00:00.000Z',
      fired_at: '2026-11-20T02:00:03.000Z',
      outcome: 'failed',
      reason: 'its owner alice may no longer deploy in prod (deployment.create)',
      schedule_id: 'sch_01jd0000000000000000000000',
      schedule_name: 'nightly',
      app_id: 'app_01jd0000000000000000000000',
      app_name: 'shop-api',
      env: 'prod',
      action: 'deploy',
      owner: 'alice',
      url: '/api/v1/schedules/sch_01jd0000000000000000000000/fires',
    };
    const failed = renderMessage(event('Schedule Failed', data, 'slipway.calendar'));
    expect(failed).toMatchObject({
      title: 'Scheduled deploy failed: shop-api in prod',
      severity: 'failure',
      link: { url: 'https://slipway.example.com/api/v1/schedules/sch_01jd0000000000000000000000/fires' },
    });
    expect(failed?.text).toContain('nightly (due 2026-11-20 02:00 UTC) made no deployment.');
    expect(failed?.text).toContain('Reason: its owner alice may no longer deploy in prod');
    expect(failed?.fields).toContainEqual(['Acts as', 'alice']);
    const missed = renderMessage(event('Schedule Failed', { ...data, outcome: 'missed' }, 'slipway.calendar'));
    expect(missed).toMatchObject({ title: 'Scheduled deploy missed: shop-api in prod', severity: 'warning' });
    // A fire that deployed is told by its deployment's own messages.
    expect(renderMessage(event('Schedule Fired', data, 'slipway.calendar'))).toBeUndefined();
  });

  it('never throws and never prints undefined or [object Object], whatever the data holds', () => {
    const types = [
      'Approval Requested',
      'Deployment Failed',
      'Rollback Started',
      'Deployment Whatever',
      'Build Failed',
    ];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.anything(), fc.dictionary(fc.string(), fc.anything()), (type, a, b) => {
        for (const data of [a, { ...deployData, ...b }]) {
          // Only words the renderer could have made up count (fast-check may generate them as input).
          if (/undefined|object Object|NaN/.test(JSON.stringify(data) ?? '')) continue;
          const message = renderMessage(event(type, data));
          const shown = JSON.stringify(message);
          expect(shown).not.toMatch(/undefined|\[object Object\]|NaN/);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('freezes in chat', () => {
  const freeze = {
    freeze_id: 'frz_01jd0000000000000000000000',
    name: 'Black Friday',
    scope: 'platform',
    starts_at: '2026-11-27T00:00:00.000Z',
    ends_at: '2026-11-30T23:00:00.000Z',
    allow_rollbacks: true,
  };

  it('says a freeze started, until when, and that rollbacks pass', () => {
    const message = renderMessage(event('Freeze Started', freeze, 'slipway.calendar'));
    expect(message).toMatchObject({ title: 'Freeze started: Black Friday', severity: 'warning' });
    expect(message?.text).toBe('Deploys to platform are frozen until 2026-11-30 23:00 UTC. Rollbacks are allowed.');
  });

  it('says a freeze ended', () => {
    const message = renderMessage(event('Freeze Ended', freeze, 'slipway.calendar'));
    expect(message).toMatchObject({ title: 'Freeze ended: Black Friday', severity: 'success' });
  });

  it('names who overrode a freeze, for which deploy, and why', () => {
    const message = renderMessage(
      event(
        'Freeze Overridden',
        {
          action: 'deploy',
          freeze: { id: freeze.freeze_id, name: 'Black Friday', scope: 'platform', ends_at: freeze.ends_at },
          by: 'carol',
          reason: 'payment outage hotfix',
          ...deployData,
        },
        'slipway.calendar',
      ),
    );
    expect(message?.title).toBe('Freeze overridden: Black Friday');
    expect(message?.text).toBe(
      'carol deploys `ghcr.io/acme/shop-api:1.4.2` to shop-api in prod.\nReason: payment outage hotfix',
    );
    expect(message?.link?.url).toBe(deployData.url);
  });

  it('carries the override in every message about the deployment', () => {
    const message = renderMessage(
      event('Deployment Queued', {
        ...deployData,
        freeze_override: { reason: 'hotfix', by: 'carol', freeze: { name: 'Black Friday' } },
      }),
    );
    expect(message?.text).toContain('Freeze override past Black Friday by carol: hotfix');
  });
});
