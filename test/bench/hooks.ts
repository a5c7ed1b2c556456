/**
 * Section: Git webhook deliveries (issue 10). Signed GitHub pushes posted to the public hook route
 * of the local cloud, as GitHub posts them. Timed: delivery → 202 (the route verifies, deduplicates,
 * stores the delivery and its change event, and answers), at a branch no pipeline matches so only
 * the route is measured; and delivery → run started: from sending a push that matches a build-only
 * pipeline to the run's recorded `created_at` (the table stream, the bus, the hook dispatcher, the
 * pipeline's trigger rules and startRun), read back once the delivery log says it was dispatched.
 */
import { randomUUID } from 'node:crypto';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { client } from '../integration/client.ts';
import { deliveryWorld } from '../integration/delivery/world.ts';
import { githubHeaders, githubPush } from '../integration/hooks/payloads.ts';
import { sleep } from './delivery.ts';
import { ms, percentile, table } from './stats.ts';

const REPO = 'https://github.com/acme/shop-api';
const DEADLINE_MS = 30_000;

interface Tail {
  p50: number;
  p99: number;
  max: number;
}
export interface HooksReport {
  acceptedMs: Tail & { deliveries: number };
  runStartedMs: Tail & { deliveries: number };
}

const tail = (samples: number[]): Tail => ({
  p50: percentile(samples, 50),
  p99: percentile(samples, 99),
  max: Math.max(...samples),
});

export async function measureHooks(cloud: LocalCloud, { accepted = 300, started = 20 } = {}): Promise<HooksReport> {
  const world = await deliveryWorld(cloud);
  const hook = (await world.admin.post(`/api/v1/apps/${world.app.id}/webhooks`, { provider: 'github' })).body;
  const pipeline = await world.admin.post('/api/v1/pipelines', {
    app_id: world.app.id,
    name: 'hooked',
    stages: [{ name: 'build', type: 'build' }],
    triggers: { branches: ['main'] },
  });
  if (pipeline.status !== 201) throw new Error(`Creating the bench pipeline answered ${pipeline.status}`);
  const provider = client(cloud.url);
  const path = new URL(hook.url).pathname;
  const send = async (ref: string, delivery: string) => {
    const sha = randomUUID().replaceAll('-', '').padEnd(40, '0').slice(0, 40);
    const body = JSON.stringify(githubPush({ repo: REPO, ref, sha }));
    const sent = Date.now();
    const start = performance.now();
    const reply = await provider.request('POST', path, {
      raw: body,
      headers: githubHeaders('push', body, hook.secret, delivery),
    });
    if (reply.status !== 202) throw new Error(`A delivery answered ${reply.status}: ${reply.text}`);
    return { ms: performance.now() - start, sent };
  };

  const acceptedMs: number[] = [];
  for (let i = 0; i < 20; i++) await send('refs/heads/warm-up', randomUUID());
  for (let i = 0; i < accepted; i++) acceptedMs.push((await send('refs/heads/bench-no-pipeline', randomUUID())).ms);

  const startedMs: number[] = [];
  for (let i = 0; i < started; i++) {
    const delivery = randomUUID();
    const { sent } = await send('refs/heads/main', delivery);
    const runId = await dispatched(
      world.admin,
      `/api/v1/apps/${world.app.id}/webhooks/${hook.id}/deliveries`,
      delivery,
    );
    const run = (await world.admin.get(`/api/v1/runs/${runId}`)).body;
    startedMs.push(Date.parse(run.created_at) - sent);
  }
  return {
    acceptedMs: { ...tail(acceptedMs), deliveries: accepted },
    runStartedMs: { ...tail(startedMs), deliveries: started },
  };
}

/** Polls the delivery log every ~10 ms until the delivery was dispatched; answers the run it started. */
async function dispatched(api: ReturnType<typeof client>, log: string, delivery: string): Promise<string> {
  const deadline = performance.now() + DEADLINE_MS;
  for (;;) {
    const items = (await api.get(`${log}?limit=5`)).body.items as {
      delivery_id: string;
      outcome: { status: string; runs?: { run_id: string }[] };
    }[];
    const found = items.find((d) => d.delivery_id === delivery);
    const runId = found?.outcome.runs?.[0]?.run_id;
    if (runId) return runId;
    if (found && found.outcome.status !== 'pending') throw new Error(`Delivery ${delivery}: ${JSON.stringify(found)}`);
    if (performance.now() > deadline) throw new Error(`Delivery ${delivery} not dispatched after ${DEADLINE_MS} ms`);
    await sleep(10);
  }
}

export function hooksMarkdown(report: HooksReport): string {
  const row = (name: string, t: Tail) => [name, ms(t.p50, 1), ms(t.p99, 1), ms(t.max, 1)];
  return [
    '## Git webhook deliveries',
    '',
    'Signed GitHub pushes (`X-Hub-Signature-256`) posted one at a time to `POST /api/v1/hooks/github/{id}` on the local cloud. *Delivery → 202*: the route verifies the signature, deduplicates on `X-GitHub-Delivery`, stores the delivery with its `Git Push Received` change event in one transaction and answers (a branch no pipeline matches, so the dispatcher starts nothing). *Delivery → run started*: from sending a push that a build-only pipeline matches to the run’s recorded `created_at`: table stream, event publisher, bus, hook dispatcher, trigger matching, `startRun`.',
    '',
    table(
      ['', 'p50', 'p99', 'max'],
      [
        row(`delivery → 202 (${report.acceptedMs.deliveries} deliveries)`, report.acceptedMs),
        row(`delivery → run started (${report.runStartedMs.deliveries} deliveries)`, report.runStartedMs),
      ],
    ),
  ].join('\n');
}
