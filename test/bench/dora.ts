/**
 * Section: `GET /metrics/dora` of a project with 10,000 deployments over a year. Running 10,000
 * deployments through the API would take over an hour here (about 0.4 s each with instant
 * rollouts), so the year is replayed through the very function that counts a finished deployment
 * (`counterChange`, shared/domain/dora.ts) and its daily items are written straight into the table.
 * The project and its apps are created through the API. Then the route is timed over HTTP, and its
 * DynamoDB requests counted with a middleware on the functions' own client (they run in this process).
 */
import { fileURLToPath } from 'node:url';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { counterChange, type DayCounts, emptyCounts, sumCounts } from '../../shared/domain/dora.ts';
import { type Client, client } from '../integration/client.ts';
import { bodies, create } from '../integration/seed.ts';
import { ms, percentile, table } from './stats.ts';

export interface DoraCase {
  case: string;
  /** Counter items the answer was computed from. */
  items: number;
  requests: Record<string, number>;
  p50: number;
  p90: number;
}

export interface DoraBench {
  deployments: number;
  apps: number;
  envs: number;
  seedSeconds: number;
  cases: DoraCase[];
}

const DAY_MS = 86_400_000;
const ENVS = ['dev', 'prod'];

/** A small deterministic generator (mulberry32): the same year on every run. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** One environment's year: `n` deploys spread over 365 days, ~10 % failing, some rolled back by hand. */
function yearOf(n: number, start: number, next: () => number): Map<string, DayCounts> {
  const days = new Map<string, Partial<DayCounts>[]>();
  let failingSince: string | undefined;
  let current: { kind: 'deploy' | 'rollback'; deployed_at: string } | undefined;
  const record = (d: Parameters<typeof counterChange>[0]) => {
    const change = counterChange(d);
    for (const [day, counts] of change.days) days.set(day, [...(days.get(day) ?? []), counts]);
    failingSince = change.failing_since ?? undefined;
    if (d.outcome === 'succeeded') current = { kind: d.kind, deployed_at: d.at };
  };
  for (let i = 0; i < n; i++) {
    const at = new Date(start + ((i + next()) / n) * 365 * DAY_MS).toISOString();
    const roll = next();
    const outcome = roll < 0.07 ? 'rolled_back' : roll < 0.1 ? 'failed' : 'succeeded';
    const committed_at = new Date(Date.parse(at) - (1 + next() * 48) * 3_600_000).toISOString();
    const base = { at, failing_since: failingSince, window_ms: DAY_MS };
    record({ ...base, kind: 'deploy', outcome, committed_at });
    if (outcome === 'succeeded' && roll > 0.97) {
      // Rolled back by hand half an hour later.
      const later = new Date(Date.parse(at) + 1_800_000).toISOString();
      record({
        kind: 'rollback',
        outcome: 'succeeded',
        at: later,
        failing_since: failingSince,
        replaced: current,
        window_ms: DAY_MS,
      });
    }
  }
  return new Map([...days].map(([day, list]) => [day, sumCounts(list)]));
}

export async function measureDora(cloud: LocalCloud, deployments = 10_000, apps = 5): Promise<DoraBench> {
  const { documentClient, tableName } = await import('../../shared/store/dynamo.ts');
  const { doraKeys } = await import('../../shared/metrics/counters.ts');
  const admin = client(cloud.url, await cloud.mintToken({ sub: 'bench-dora', groups: ['platform-admins'] }));
  const project = await create(admin, '/api/v1/projects', bodies.project());
  const appIds: string[] = [];
  for (let i = 0; i < apps; i++) appIds.push((await create(admin, '/api/v1/apps', bodies.app(project.id))).id);

  const seedStarted = performance.now();
  const to = new Date().toISOString().slice(0, 10);
  const start = Date.parse(to) - 364 * DAY_MS;
  const from = new Date(start).toISOString().slice(0, 10);
  const next = random(29);
  const perEnv = deployments / (apps * ENVS.length);
  const items = appIds.flatMap((appId) =>
    ENVS.flatMap((env) =>
      [...yearOf(perEnv, start, next)].map(([day, counts]) => ({
        ...doraKeys.day(appId, day, env),
        project_id: project.id,
        app_id: appId,
        env,
        day,
        ...emptyCounts(),
        ...counts,
      })),
    ),
  );
  for (let i = 0; i < items.length; i += 25) {
    let pending: Record<string, unknown>[] = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    while (pending.length > 0) {
      const out = await documentClient.send(
        new BatchWriteCommand({ RequestItems: { [tableName()]: pending as never } }),
      );
      pending = (out.UnprocessedItems?.[tableName()] ?? []) as Record<string, unknown>[];
    }
  }
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  const sent: Record<string, number> = {};
  let counting = false;
  documentClient.middlewareStack.add(
    (nextHandler, context) => async (args) => {
      if (counting) sent[String(context.commandName)] = (sent[String(context.commandName)] ?? 0) + 1;
      return nextHandler(args);
    },
    { step: 'initialize', name: 'countDoraRequests' },
  );
  const range = `from=${from}&to=${to}`;
  const firstApp = appIds[0] as string;
  const cases: [string, string, number][] = [
    [
      `project (${apps} apps × ${ENVS.length} envs), a year by week`,
      `dora?project_id=${project.id}&${range}&interval=week`,
      items.length,
    ],
    ['one app, a year by day', `dora?app_id=${firstApp}&${range}`, items.length / apps],
    [
      'one app and env, a year by month',
      `dora?app_id=${firstApp}&env=prod&${range}&interval=month`,
      items.length / apps / ENVS.length,
    ],
    ['the chart: project, a year by week', `dora.svg?project_id=${project.id}&${range}&interval=week`, items.length],
  ];
  const results: DoraCase[] = [];
  for (const [name, path, read] of cases) {
    const call = () => timed(admin, `/api/v1/metrics/${path}`);
    for (let i = 0; i < 5; i++) await call(); // warm
    for (const k of Object.keys(sent)) delete sent[k];
    counting = true;
    await call();
    counting = false;
    const requests = { ...sent };
    const samples: number[] = [];
    for (let i = 0; i < 30; i++) samples.push(await call());
    results.push({ case: name, items: read, requests, p50: percentile(samples, 50), p90: percentile(samples, 90) });
  }
  return { deployments, apps, envs: ENVS.length, seedSeconds, cases: results };
}

async function timed(api: Client, path: string): Promise<number> {
  const started = performance.now();
  const reply = await api.get(path);
  if (reply.status !== 200) throw new Error(`${path} answered ${reply.status}: ${reply.text}`);
  return performance.now() - started;
}

export function doraMarkdown(r: DoraBench): string {
  return [
    '## DORA metrics',
    '',
    `A project with ${r.deployments.toLocaleString('en')} deployments over a year (${r.apps} apps × ${r.envs} environments), replayed through the counting function and written as daily items in ${r.seedSeconds.toFixed(1)} s (not through the API: that would take over an hour). \`GET /metrics/...\` over HTTP on the local cloud, 30 calls after 5 warm-ups:`,
    '',
    table(
      ['case', 'counter items read', 'DynamoDB requests', 'p50', 'p90'],
      r.cases.map((c) => [
        c.case,
        String(c.items),
        Object.entries(c.requests)
          .map(([name, n]) => `${name.replace(/Command$/, '')} ${n}`)
          .join(', '),
        ms(c.p50),
        ms(c.p90),
      ]),
    ),
  ].join('\n');
}

/** `node test/bench/dora.ts`: this section alone, on a throwaway local cloud. */
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { startLocalCloud } = await import('../../infra/local/cloud.ts');
  const cloud = await startLocalCloud({ port: 0, inMemory: true, quiet: true, schedules: false });
  try {
    process.stdout.write(`${doraMarkdown(await measureDora(cloud))}\n`);
  } finally {
    await cloud.stop();
  }
}
