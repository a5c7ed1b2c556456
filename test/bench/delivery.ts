/**
 * Section 4: what delivery orchestration costs. Deploys and rollbacks go through the HTTP API to
 * the local Step Functions running the real ASL (no wait overrides), against the simulated cluster
 * rolling out instantly, so the time measured is the workflow's own: API, state machine, lock,
 * workflow functions, DynamoDB writes and status reads. Also counts the state transitions each
 * kind of run takes, which is what AWS bills Standard workflows for.
 */
import type { LocalCloud } from '../../infra/local/cloud.ts';
import type { StateMachineName } from '../../infra/manifest.ts';
import { FINAL_STATES } from '../../shared/delivery/model.ts';
import type { Client } from '../integration/client.ts';
import { deliveryWorld } from '../integration/delivery/world.ts';
import { ms, percentile, table } from './stats.ts';

/** AWS Step Functions Standard: $0.025 per 1,000 state transitions (us-east-1, beyond the free tier). */
export const USD_PER_1000_TRANSITIONS = 0.025;
const POLL_INTERVAL_MS = 10;
const DEADLINE_MS = 60_000;

export interface Timings {
  warmups: number;
  runs: number;
  /** POST until `/status` first answered `succeeded`, as the client saw it (within one poll interval). */
  clientMs: Summary;
  /** The same span from the deployment's own step timestamps (`queued` → `succeeded`), without polling. */
  recordedMs: Summary;
}

export interface Summary {
  p50: number;
  p90: number;
  min: number;
  max: number;
  samples: number[];
}

export interface DeliveryReport {
  deploy: Timings;
  rollback: Timings;
  /** States entered per execution, one sample of each kind. */
  transitions: { deploy: number; approval: number; rollback: number; autoRollback: number };
  /** Executions looked at for Wait states, and the Wait states any of them entered (`<kind> <id>: <state>`). */
  executionsChecked: number;
  waitsEntered: string[];
}

/** The cloud must run the simulated cluster with `podStartMs: 0` and a small `badImageFailAfterMs`. */
export async function measureDelivery(
  cloud: LocalCloud,
  { deploys = 20, rollbacks = 10, warmups = 2 } = {},
): Promise<DeliveryReport> {
  const bench = await setUp(cloud);
  const waitsEntered: string[] = [];
  let executionsChecked = 0;
  /** Waits for the execution to end (the lock is released after the status says succeeded), then reads its history. */
  const settle = async (kind: 'deploy' | 'rollback', id: string) => {
    const history = await finishedHistory(cloud, executionArn(cloud, kind, id));
    executionsChecked++;
    for (const name of history.waitStates) waitsEntered.push(`${kind} ${id}: ${name}`);
    return history.transitions;
  };

  let version = 0;
  const nextImage = () => `1.0.${++version}`;
  const deployOnce = async () => {
    const run = await timedRun(bench.developer, `/api/v1/apps/${bench.appId}/deploy`, {
      env: 'dev',
      image: nextImage(),
    });
    return { ...run, transitions: await settle('deploy', run.id) };
  };
  const rollbackOnce = async () => {
    const run = await timedRun(bench.developer, '/api/v1/rollbacks', { app_id: bench.appId, env: 'dev' });
    return { ...run, transitions: await settle('rollback', run.id) };
  };

  const deploy = await repeat(deployOnce, warmups, deploys);
  const rollback = await repeat(rollbackOnce, warmups, rollbacks);
  const autoRollback = await settle('deploy', await autoRolledBack(bench));
  const approval = await settle('deploy', await approvedDeploy(bench));
  return {
    deploy: deploy.timings,
    rollback: rollback.timings,
    transitions: { deploy: deploy.transitions, approval, rollback: rollback.transitions, autoRollback },
    executionsChecked,
    waitsEntered,
  };
}

interface Bench {
  developer: Client;
  approver: Client;
  appId: string;
}

/** The delivery world of the end-to-end tests: dev, a protected prod, a developer and release managers. */
async function setUp(cloud: LocalCloud): Promise<Bench> {
  const world = await deliveryWorld(cloud);
  return { developer: world.developer, approver: world.approvers[0], appId: world.app.id };
}

/** POSTs a deploy or rollback and polls its status every ~10 ms until it is final; it must succeed. */
async function timedRun(call: Client, path: string, body: unknown) {
  const start = performance.now();
  const reply = await call.post(path, body);
  if (reply.status !== 202) throw new Error(`POST ${path} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  const id = String(reply.body.id);
  const status = await statusWhen(call, id, (s) => FINAL_STATES.has(s.state as never));
  const clientMs = performance.now() - start;
  if (status.state !== 'succeeded') throw new Error(`${path} ${id} ended ${status.state}: ${status.reason}`);
  return { id, clientMs, recordedMs: stepSpan(status, 'queued', 'succeeded') };
}

async function statusWhen(call: Client, id: string, done: (status: Record<string, unknown>) => boolean) {
  const deadline = performance.now() + DEADLINE_MS;
  for (;;) {
    const polled = performance.now();
    const reply = await call.get(`/api/v1/deployments/${id}/status`);
    if (reply.status !== 200) throw new Error(`Status of ${id} answered ${reply.status}`);
    if (done(reply.body)) return reply.body;
    if (performance.now() > deadline)
      throw new Error(`Deployment ${id} still ${reply.body.state} after ${DEADLINE_MS} ms`);
    // Polls start every 10 ms, or right after the previous answer when that took longer.
    await sleep(POLL_INTERVAL_MS - (performance.now() - polled));
  }
}

function stepSpan(status: Record<string, unknown>, from: string, to: string): number {
  const steps = status.steps as { state: string; at: string }[];
  const at = (state: string) => Date.parse(steps.find((s) => s.state === state)?.at ?? '');
  return at(to) - at(from);
}

async function repeat(
  once: () => Promise<{ clientMs: number; recordedMs: number; transitions: number }>,
  warmups: number,
  runs: number,
) {
  for (let i = 0; i < warmups; i++) await once();
  const measured = [];
  for (let i = 0; i < runs; i++) measured.push(await once());
  const counts = new Set(measured.map((m) => m.transitions));
  // Every happy path takes the same states; a different count means a retry or a wait crept in.
  if (counts.size !== 1) throw new Error(`Transitions differ between identical runs: ${[...counts].join(', ')}`);
  return {
    timings: {
      warmups,
      runs,
      clientMs: summary(measured.map((m) => m.clientMs)),
      recordedMs: summary(measured.map((m) => m.recordedMs)),
    },
    transitions: measured[0]?.transitions ?? 0,
  };
}

/** A `:bad` image fails its rollout and the workflow restores the previous release by itself. */
async function autoRolledBack(bench: Bench): Promise<string> {
  const reply = await bench.developer.post(`/api/v1/apps/${bench.appId}/deploy`, { env: 'dev', image: 'bad' });
  if (reply.status !== 202) throw new Error(`Deploying :bad answered ${reply.status}`);
  const id = String(reply.body.id);
  const status = await statusWhen(bench.developer, id, (s) => FINAL_STATES.has(s.state as never));
  if (status.state !== 'rolled_back') throw new Error(`The :bad deploy ended ${status.state}, not rolled_back`);
  return id;
}

/** A deploy to the protected environment, approved through the API by the release manager. */
async function approvedDeploy(bench: Bench): Promise<string> {
  const reply = await bench.developer.post(`/api/v1/apps/${bench.appId}/deploy`, { env: 'prod', image: '1.0.0' });
  if (reply.status !== 202) throw new Error(`Deploying to prod answered ${reply.status}`);
  const id = String(reply.body.id);
  const waiting = await statusWhen(bench.developer, id, (s) => s.state === 'waiting_for_approval');
  const approvalId = String((waiting.approval as { id: string }).id);
  const approved = await bench.approver.post(`/api/v1/approvals/${approvalId}/approve`, { comment: 'bench' });
  if (approved.status !== 200)
    throw new Error(`Approving answered ${approved.status}: ${JSON.stringify(approved.body)}`);
  const status = await statusWhen(bench.developer, id, (s) => FINAL_STATES.has(s.state as never));
  if (status.state !== 'succeeded') throw new Error(`The approved deploy ended ${status.state}`);
  return id;
}

/** Executions are named after what they run: the deployment, the build, the run (shared/delivery/workflow.ts). */
export function executionArn(cloud: LocalCloud, kind: StateMachineName, name: string): string {
  return `${cloud.services.stateMachineArn(kind).replace(':stateMachine:', ':execution:')}:${name}`;
}

/** Polls the execution until it has ended, then answers its transitions and the Wait states it entered. */
export async function finishedHistory(cloud: LocalCloud, arn: string) {
  const sfn = cloud.services.stepFunctions;
  const deadline = performance.now() + DEADLINE_MS;
  for (;;) {
    const { status } = (await sfn.service('DescribeExecution', { executionArn: arn })) as { status: string };
    if (status !== 'RUNNING') break;
    if (performance.now() > deadline) throw new Error(`Execution ${arn} still running after ${DEADLINE_MS} ms`);
    await sleep(5);
  }
  const { events } = (await sfn.service('GetExecutionHistory', { executionArn: arn, maxResults: 1000 })) as {
    events: { type: string; stateEnteredEventDetails?: { name: string } }[];
  };
  const waitStates = events
    .filter((e) => e.type === 'WaitStateEntered')
    .map((e) => e.stateEnteredEventDetails?.name ?? '?');
  return { transitions: sfn.transitions(arn), waitStates };
}

export const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, milliseconds)));

export function summary(samples: number[]): Summary {
  return {
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples,
  };
}

export function deliveryMarkdown(report: DeliveryReport): string {
  const { deploy, rollback, transitions } = report;
  const timingRow = (name: string, s: Summary) => [name, ms(s.p50, 0), ms(s.p90, 0), ms(s.min, 0), ms(s.max, 0)];
  // N transitions per run cost N × $0.025 per 1,000 runs.
  const usd = (count: number) => `$${(count * USD_PER_1000_TRANSITIONS).toFixed(3)}`;
  const transitionRow = (name: string, count: number) => [name, String(count), usd(count)];
  const waits =
    report.waitsEntered.length === 0
      ? `No Wait state was entered in any of the ${report.executionsChecked} executions (the rollout was complete at the first check and the lock was free).`
      : `**Wait states were entered** (their real durations are in the times): ${report.waitsEntered.join('; ')}.`;
  return [
    '## Delivery orchestration',
    '',
    `Deploys and rollbacks through the HTTP API on the local cloud: the real ASL (no wait or retry overrides) on the local Step Functions, the simulated cluster rolling out instantly (\`podStartMs: 0\`). Time from \`POST\` until \`/status\` answers \`succeeded\`, polled every ${POLL_INTERVAL_MS} ms; next to it the span between the deployment's own \`queued\` and \`succeeded\` step timestamps. Sequential, to the unprotected \`dev\`, each after the previous execution ended; ${deploy.warmups} warm-ups each.`,
    '',
    table(
      ['', 'p50', 'p90', 'min', 'max'],
      [
        timingRow(`deploy, client (${deploy.runs} runs)`, deploy.clientMs),
        timingRow('deploy, recorded steps', deploy.recordedMs),
        timingRow(`rollback, client (${rollback.runs} runs)`, rollback.clientMs),
        timingRow('rollback, recorded steps', rollback.recordedMs),
      ],
    ),
    '',
    waits,
    '',
    `State transitions (states entered, as Standard workflows bill them) per execution, and what 1,000 such runs cost at $${USD_PER_1000_TRANSITIONS} per 1,000 transitions (before the free tier):`,
    '',
    table(
      ['run', 'transitions', 'per 1,000 runs'],
      [
        transitionRow('deploy, unprotected env', transitions.deploy),
        transitionRow('deploy through an approval', transitions.approval),
        transitionRow('rollback (`POST /rollbacks`)', transitions.rollback),
        transitionRow('auto-rollback (`:bad` image)', transitions.autoRollback),
      ],
    ),
  ].join('\n');
}
