/**
 * Section: what a pipeline run costs beyond its build and its rollout. Runs of a two-stage pipeline
 * (build, deploy to dev) go through the HTTP API to the local Step Functions running the real ASL
 * (no wait overrides): the pipeline machine runs the build machine (a Job on the simulated
 * cluster, building at once with `podStartMs: 0`) and the deploy machine as nested executions.
 * Timed: from the build's own end to the moment the deployment was applied to the cluster (both
 * recorded timestamps), which is the orchestration between the two machines; and POST to the
 * run's end; and the run's end to its `success` commit status arriving at the Git provider simulator
 * (the bus and the commit status function). Counted: the state transitions of the three executions,
 * which Standard workflows bill.
 */
import type { LocalCloud } from '../../infra/local/cloud.ts';
import type { Client } from '../integration/client.ts';
import { deliveryWorld } from '../integration/delivery/world.ts';
import { executionArn, finishedHistory, type Summary, sleep, summary, USD_PER_1000_TRANSITIONS } from './delivery.ts';
import { ms, table } from './stats.ts';

const POLL_INTERVAL_MS = 10;
const DEADLINE_MS = 60_000;

export interface PipelinesReport {
  warmups: number;
  runs: number;
  /** Build's `finished_at` → the dev deployment's `applied_at`. */
  buildToApplyMs: Summary;
  /** POST /run until GET /runs/{id} first answered `succeeded`, as the client saw it. */
  clientMs: Summary;
  /** The run's `finished_at` → its `success` commit status received by the Git provider simulator. */
  statusLagMs: Summary;
  /** States entered by each execution of one run (the same on every run: the bench fails otherwise). */
  transitions: { pipeline: number; build: number; deploy: number };
  waitsEntered: string[];
}

interface Run {
  id: string;
  state: string;
  reason?: string;
  finished_at: string;
  stages: { name: string; build_id?: string; deployment_id?: string }[];
}

export async function measurePipelines(cloud: LocalCloud, { runs = 10, warmups = 2 } = {}): Promise<PipelinesReport> {
  const world = await deliveryWorld(cloud);
  const created = await world.admin.post('/api/v1/pipelines', {
    app_id: world.app.id,
    name: 'bench',
    stages: [
      { name: 'build', type: 'build' },
      { name: 'dev', type: 'deploy', env: 'dev', needs: ['build'] },
    ],
  });
  if (created.status !== 201)
    throw new Error(`Creating the bench pipeline answered ${created.status}: ${created.text}`);
  const pipelineId = String(created.body.id);
  await reportStatuses(cloud, world.admin, world.app.id);

  let commits = 0;
  const waitsEntered: string[] = [];
  const once = async () => {
    const sha = `be${String(++commits).padStart(6, '0')}`.padEnd(40, 'c');
    const start = performance.now();
    const reply = await world.developer.post(`/api/v1/pipelines/${pipelineId}/run`, { commit: { sha, ref: 'main' } });
    if (reply.status !== 202) throw new Error(`POST run answered ${reply.status}: ${reply.text}`);
    const run = await finished(world.developer, String(reply.body.id));
    const clientMs = performance.now() - start;
    const buildId = run.stages[0]?.build_id as string;
    const deploymentId = run.stages[1]?.deployment_id as string;
    const [build, deployment] = await Promise.all([
      world.developer.get(`/api/v1/builds/${buildId}`),
      world.developer.get(`/api/v1/deployments/${deploymentId}`),
    ]);
    const buildToApplyMs = Date.parse(deployment.body.applied_at) - Date.parse(build.body.finished_at);
    if (!Number.isFinite(buildToApplyMs)) throw new Error(`No build end or apply time for run ${run.id}`);
    const statusLagMs = Date.parse((await successStatus(cloud, sha)).received_at) - Date.parse(run.finished_at);
    const transitions = { pipeline: 0, build: 0, deploy: 0 };
    for (const [kind, name] of [
      ['pipeline', run.id],
      ['build', buildId],
      ['deploy', deploymentId],
    ] as const) {
      const history = await finishedHistory(cloud, executionArn(cloud, kind, name));
      transitions[kind] = history.transitions;
      for (const state of history.waitStates) waitsEntered.push(`${kind} ${name}: ${state}`);
    }
    return { clientMs, buildToApplyMs, statusLagMs, transitions };
  };

  for (let i = 0; i < warmups; i++) await once();
  waitsEntered.length = 0;
  const measured = [];
  for (let i = 0; i < runs; i++) measured.push(await once());
  const counts = new Set(measured.map((m) => JSON.stringify(m.transitions)));
  // The build machine's count depends on how many polls a build took: an instant build takes the same each time.
  if (counts.size !== 1) throw new Error(`Transitions differ between identical runs: ${[...counts].join(' ')}`);
  return {
    warmups,
    runs,
    buildToApplyMs: summary(measured.map((m) => m.buildToApplyMs)),
    clientMs: summary(measured.map((m) => m.clientMs)),
    statusLagMs: summary(measured.map((m) => m.statusLagMs)),
    transitions: (measured[0] as (typeof measured)[number]).transitions,
    waitsEntered,
  };
}

/** Gives the app a status token, so its runs report to the Git provider simulator. */
async function reportStatuses(cloud: LocalCloud, admin: Client, appId: string): Promise<void> {
  const tokenArn = cloud.services.putSecret('slipway/git-tokens/bench', 'bench-token');
  const app = await admin.get(`/api/v1/apps/${appId}`);
  const patched = await admin.patch(
    `/api/v1/apps/${appId}`,
    { repository: { status_token_secret_arn: tokenArn } },
    { 'if-match': app.headers.get('etag') ?? '' },
  );
  if (patched.status !== 200) throw new Error(`Setting the status token answered ${patched.status}: ${patched.text}`);
}

/** The commit's `success` status at the simulator, polled every ~10 ms. */
async function successStatus(cloud: LocalCloud, sha: string) {
  const deadline = performance.now() + DEADLINE_MS;
  for (;;) {
    const status = cloud.services.git.statuses(sha).find((s) => s.state === 'success');
    if (status) return status;
    if (performance.now() > deadline) throw new Error(`No success status for ${sha} after ${DEADLINE_MS} ms`);
    await sleep(POLL_INTERVAL_MS);
  }
}

/** Polls the run every ~10 ms until it is final; it must have succeeded. */
async function finished(api: Client, id: string): Promise<Run> {
  const deadline = performance.now() + DEADLINE_MS;
  for (;;) {
    const polled = performance.now();
    const run = (await api.get(`/api/v1/runs/${id}`)).body as Run;
    if (run.state === 'succeeded') return run;
    if (run.state === 'failed' || run.state === 'cancelled')
      throw new Error(`Run ${id} ended ${run.state}: ${run.reason}`);
    if (performance.now() > deadline) throw new Error(`Run ${id} still ${run.state} after ${DEADLINE_MS} ms`);
    await sleep(POLL_INTERVAL_MS - (performance.now() - polled));
  }
}

export function pipelinesMarkdown(report: PipelinesReport): string {
  const row = (name: string, s: Summary) => [name, ms(s.p50, 0), ms(s.p90, 0), ms(s.min, 0), ms(s.max, 0)];
  const { pipeline, build, deploy } = report.transitions;
  const usd = (count: number) => `$${(count * USD_PER_1000_TRANSITIONS).toFixed(3)}`;
  const total = pipeline + build + deploy;
  const waits =
    report.waitsEntered.length === 0
      ? 'No Wait state was entered in any of the measured executions.'
      : `**Wait states were entered** (their real durations are in the client times): ${report.waitsEntered.join('; ')}.`;
  return [
    '## Pipeline runs',
    '',
    `Runs of a pipeline with a build and a deploy to the unprotected \`dev\`, through the HTTP API on the local cloud: the real ASL (no wait or retry overrides), the build a Job on the simulated cluster that builds at once, the rollout instant (\`podStartMs: 0\`). Sequential, ${report.warmups} warm-ups. *Build end → first deploy applied* is the span between the build's own \`finished_at\` and the dev deployment's \`applied_at\`: the build machine ending, the pipeline's next step recording the stage and the deployment, the nested deploy machine starting, taking the lock and applying. *Client* is \`POST /pipelines/{id}/run\` until \`GET /runs/{id}\` answers \`succeeded\`, polled every ${POLL_INTERVAL_MS} ms. *Commit status* is the run's \`finished_at\` until the Git provider simulator received its \`success\` status (event publisher, bus, the commit status function's post; ADR 23).`,
    '',
    table(
      ['', 'p50', 'p90', 'min', 'max'],
      [
        row(`build end → first deploy applied (${report.runs} runs)`, report.buildToApplyMs),
        row('run, client (POST → succeeded)', report.clientMs),
        row('run end → `success` commit status at the provider simulator', report.statusLagMs),
      ],
    ),
    '',
    waits,
    '',
    `State transitions of one run, and what 1,000 runs cost at $${USD_PER_1000_TRANSITIONS} per 1,000 transitions (before the free tier):`,
    '',
    table(
      ['execution', 'transitions', 'per 1,000 runs'],
      [
        ['pipeline (`pipeline.asl.json`)', String(pipeline), usd(pipeline)],
        ['build, nested (an instant build; each further log poll adds 3)', String(build), usd(build)],
        ['deploy to dev, nested', String(deploy), usd(deploy)],
        ['**one run, build + deploy dev**', `**${total}**`, `**${usd(total)}**`],
      ],
    ),
  ].join('\n');
}
