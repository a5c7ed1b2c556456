/**
 * What the freeze check costs a deploy request (ADR 25): the DynamoDB requests the deployments
 * function sends per deploy (counted by an SDK middleware on the functions' own client; the local
 * cloud runs handlers in this process), the POST's latency to 202 with no freezes and with many
 * (recurring windows covering the app, none in force: the check's worst case, it evaluates every
 * one), the rules item's size, and `activeFreeze` alone in process.
 */

import type { LocalCloud } from '../../infra/local/cloud.ts';
import { currentInvocation, localFunctionName } from '../../infra/local/lambda-runtime.ts';
import { type FunctionSpec, functions } from '../../infra/manifest.ts';
import { envScope } from '../../shared/auth/scope.ts';
import { FINAL_STATES } from '../../shared/delivery/model.ts';
import { activeFreeze, type FreezeRule } from '../../shared/domain/freeze.ts';
import { documentClient } from '../../shared/store/dynamo.ts';
import { type Client, eventually } from '../integration/client.ts';
import { deliveryWorld } from '../integration/delivery/world.ts';
import { ms, percentile, table } from './stats.ts';

const RULE_COUNTS = [0, 50, 250] as const;
const WARMUPS = 5;

export interface FreezeCheckReport {
  runs: number;
  rows: {
    rules: number;
    /** DynamoDB commands the deployments function sent for one deploy. */
    requests: string[];
    /** POST → 202 to the frozen-by-calendar environment (every freeze covers it), as the client saw it. */
    p50: number;
    p90: number;
    /** The same, alternately, to an environment no freeze covers (it reads the same rules item). */
    uncoveredP50: number;
    /** The rules item as stored (JSON length, a close bound of its DynamoDB size). */
    itemBytes: number;
    /** `activeFreeze` over the rules for the covered environment, in process, median per call. */
    checkMicros: number;
  }[];
}

/**
 * Deploys alternate between `dev`, which every freeze covers, and `open`, which none does: both
 * read the same rules item under the same background (the cloud delivers events in this process),
 * so their difference is what evaluating the freezes adds.
 */
export async function measureFreezeCheck(cloud: LocalCloud, { runs = 15 } = {}): Promise<FreezeCheckReport> {
  const world = await deliveryWorld(cloud);
  const open = await world.admin.post(`/api/v1/apps/${world.app.id}/envs`, {
    name: 'open',
    cluster_id: world.cluster.id,
    namespace: `bench-open-${process.pid}`,
  });
  if (open.status !== 201) throw new Error(`env answered ${open.status}: ${open.text}`);
  const deployments = localFunctionName(functions.find((f) => f.name === 'deployments') as FunctionSpec);
  const sent: string[] = [];
  documentClient.middlewareStack.add(
    (next, context) => async (args) => {
      if (currentInvocation()?.functionName === deployments) sent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'benchFreezeRequests' },
  );

  let version = 0;
  /** One deploy, timed to its 202; then waited to its end, so no workflow runs beside the next timed request. */
  const deployTo = async (env: string) => {
    sent.length = 0;
    const start = performance.now();
    const reply = await world.developer.post(`/api/v1/apps/${world.app.id}/deploy`, { env, image: `2.0.${++version}` });
    const elapsed = performance.now() - start;
    if (reply.status !== 202) throw new Error(`deploy answered ${reply.status}: ${reply.text}`);
    const requests = [...sent];
    await finished(world.developer, reply.body.id);
    return { elapsed, requests };
  };

  const rows: FreezeCheckReport['rows'] = [];
  let made = 0;
  try {
    for (const rules of RULE_COUNTS) {
      for (; made < rules; made++) await addFreeze(world.admin, world.app.id, made);
      const covered: number[] = [];
      const uncovered: number[] = [];
      let requests: string[] = [];
      for (let i = 0; i < runs + WARMUPS; i++) {
        const frozenSide = await deployTo('dev');
        const openSide = await deployTo('open');
        requests = frozenSide.requests;
        if (i < WARMUPS) continue;
        covered.push(frozenSide.elapsed);
        uncovered.push(openSide.elapsed);
      }
      const item = await rulesItem(world.admin);
      rows.push({
        rules,
        requests,
        p50: percentile(covered, 50),
        p90: percentile(covered, 90),
        uncoveredP50: percentile(uncovered, 50),
        itemBytes: JSON.stringify(item).length,
        checkMicros: checkCost(item, envScope(world.project.id, world.app.id, 'dev')),
      });
    }
  } finally {
    documentClient.middlewareStack.remove('benchFreezeRequests');
  }
  return { runs, rows };
}

/** A recurring freeze of the app's `dev`, not in force now (a minute a year, six months away). */
async function addFreeze(admin: Client, appId: string, n: number) {
  const month = ((new Date().getUTCMonth() + 6) % 12) + 1;
  const reply = await admin.post('/api/v1/freezes', {
    scope: { app_id: appId, env: 'dev' },
    name: `Bench freeze ${n}`,
    window: {
      kind: 'recurring',
      cron: `${n % 60} 3 1 ${month} *`,
      timezone: 'Europe/Berlin',
      duration_minutes: 1,
    },
  });
  if (reply.status !== 201) throw new Error(`freeze answered ${reply.status}: ${reply.text}`);
}

/** The rules as the check sees them: the platform-wide list (read through the API, so the sizes are the stored ones). */
async function rulesItem(admin: Client): Promise<FreezeRule[]> {
  const rules: FreezeRule[] = [];
  let cursor = '';
  do {
    const reply = await admin.get(`/api/v1/freezes?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    for (const f of reply.body.items)
      rules.push({ id: f.id, name: f.name, scope: f.scope, window: f.window, allow_rollbacks: f.allow_rollbacks });
    cursor = reply.body.next_cursor ?? '';
  } while (cursor);
  return rules;
}

/** The median of 31 calls: one call is long enough to time, and the median leaves GC pauses out. */
function checkCost(rules: FreezeRule[], target: string): number {
  const now = new Date();
  const samples: number[] = [];
  for (let i = 0; i < 31; i++) {
    const start = performance.now();
    activeFreeze(rules, target, 'deploy', now);
    samples.push((performance.now() - start) * 1000);
  }
  return percentile(samples, 50);
}

const finished = (api: Client, id: string) =>
  eventually(async () => {
    const { body } = await api.get(`/api/v1/deployments/${id}/status`);
    if (!FINAL_STATES.has(body.state)) throw new Error(`deployment ${id} is ${body.state}`);
  }, 60_000);

export function freezeCheckMarkdown(report: FreezeCheckReport): string {
  return [
    '## The freeze check on a deploy request',
    '',
    `\`POST /apps/{id}/deploy\` to 202, ${report.runs} rounds per row after ${WARMUPS} warm-ups, each round one deploy to an environment that many freezes cover (recurring, none in force: every one is evaluated) and one to an environment none covers (the same rules item read, the freezes skipped by scope). The rules ride in the deploy's one BatchGetItem (ADR 25): the DynamoDB requests are the same with or without freezes.`,
    '',
    table(
      [
        'freezes',
        'DynamoDB requests per deploy',
        'covered p50',
        'covered p90',
        'uncovered p50',
        'added p50',
        'rules item',
        'activeFreeze in process',
      ],
      report.rows.map((r) => [
        String(r.rules),
        `${r.requests.length} (${r.requests.map((c) => c.replace(/Command$/, '')).join(', ')})`,
        ms(r.p50),
        ms(r.p90),
        ms(r.uncoveredP50),
        ms(r.p50 - r.uncoveredP50),
        `${(r.itemBytes / 1024).toFixed(1)} KB`,
        `${(r.checkMicros / 1000).toFixed(2)} ms`,
      ]),
    ),
  ].join('\n');
}
