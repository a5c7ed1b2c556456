/**
 * `npm run bench`: bundle sizes and import times, warm handler overhead, local API throughput,
 * delivery orchestration (deploy/rollback time, state transitions), the freeze check on a deploy, pipeline
 * runs (build end to first deploy, transitions), Git webhook deliveries (to 202, to a started run), audit
 * checkpoint cost, `GET /metrics/dora` over a year of 10,000 deployments, schedule fire accuracy
 * (scheduled instant → target invoked; through the API, → deployment queued) and approvals from chat (callback → answer, → workflow resumed).
 * Prints Markdown tables and writes them to .bench/results.md, the raw numbers to .bench/results.json.
 * Exits non-zero when an API function bundles the Kubernetes client (a guard, checked every run).
 * Env: BENCH_DURATION (seconds per throughput run, default 10).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalCloud } from '../../infra/local/cloud.ts';
import { buildsMarkdown, measureBuilds } from './builds.ts';
import { bundlesMarkdown, KUBERNETES_CLIENT, measureBundles } from './bundles.ts';
import { chatMarkdown, measureChat } from './chat.ts';
import { checkpointsMarkdown, measureCheckpoints } from './checkpoints.ts';
import { deliveryMarkdown, measureDelivery } from './delivery.ts';
import { doraMarkdown, measureDora } from './dora.ts';
import { freezeCheckMarkdown, measureFreezeCheck } from './freezes.ts';
import { hooksMarkdown, measureHooks } from './hooks.ts';
import { measureMetricsOverhead, measureOverhead, metricsOverheadMarkdown, overheadMarkdown } from './overhead.ts';
import { measurePipelines, pipelinesMarkdown } from './pipelines.ts';
import { firesMarkdown, fireTarget, measureFires } from './schedules.ts';
import { measureThroughput, throughputMarkdown } from './throughput.ts';
import { measureTracingOverhead, tracingOverheadMarkdown } from './tracing.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const outDir = join(repoRoot, '.bench');
const durationSeconds = Number(process.env.BENCH_DURATION ?? 10);
if (!(durationSeconds > 0))
  throw new Error(`BENCH_DURATION must be a positive number of seconds, not ${process.env.BENCH_DURATION}`);

const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);
const sections: string[] = [];
const print = (markdown: string) => {
  sections.push(markdown);
  process.stdout.write(`${markdown}\n\n`);
};

const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

// Load average is printed (at start and end) because the numbers are only as quiet as the machine was.
print(
  [
    '# Slipway benchmark',
    '',
    `${new Date().toISOString()} · Node ${process.versions.node} · ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length} · load average at start ${loadAverage()}`,
  ].join('\n'),
);

progress('bundling and timing imports (20 fresh processes per bundle)');
const bundles = await measureBundles(repoRoot);
print(bundlesMarkdown(bundles));
const guardFailed = bundles.apiFunctionsWithKubernetesClient.length > 0;

progress('warm tracing overhead (20,000 calls each, tracer disabled and enabled)');
const tracingOverhead = await measureTracingOverhead(repoRoot);
print(tracingOverheadMarkdown(tracingOverhead));

progress('starting the local cloud (DynamoDB Local)');
// Instant rollouts, and `:bad` images failing at once: the delivery section times the orchestration, not pods.
// The limits are raised: the bench times the platform's work, not the stage throttle (50 req/s) or the quotas.
const unlimited = 1_000_000;
const cloud = await startLocalCloud({
  port: 0,
  inMemory: true,
  quiet: true,
  kubernetes: { podStartMs: 0, badImageFailAfterMs: 1 },
  throttle: { rateLimit: unlimited, burstLimit: unlimited },
  quotas: { writesPerMinute: unlimited, deploysPerMinute: unlimited },
  schedules: false, // the checkpoint section times its own checkpoints; a timer's would add to its counts
  extraFunctions: [fireTarget], // what the schedule fires section's SDK-made schedules invoke
});
let overhead: Awaited<ReturnType<typeof measureOverhead>>;
let metricsOverhead: Awaited<ReturnType<typeof measureMetricsOverhead>>;
let throughput: Awaited<ReturnType<typeof measureThroughput>>;
let delivery: Awaited<ReturnType<typeof measureDelivery>>;
let freezeCheck: Awaited<ReturnType<typeof measureFreezeCheck>>;
let builds: Awaited<ReturnType<typeof measureBuilds>>;
let checkpoints: Awaited<ReturnType<typeof measureCheckpoints>>;
let pipelines: Awaited<ReturnType<typeof measurePipelines>>;
let hooks: Awaited<ReturnType<typeof measureHooks>>;
let dora: Awaited<ReturnType<typeof measureDora>>;
let fires: Awaited<ReturnType<typeof measureFires>>;
let chat: Awaited<ReturnType<typeof measureChat>>;
try {
  const token = await cloud.mintToken({ sub: 'bench', groups: ['platform-admins'] });
  const projectId = await createProject(cloud.url, token);

  progress('warm handler overhead (2,000 read calls and 1,000 create calls each)');
  overhead = await measureOverhead(cloud, projectId);
  print(overheadMarkdown(overhead));
  metricsOverhead = await measureMetricsOverhead();
  print(metricsOverheadMarkdown(metricsOverhead));

  progress(`throughput (${durationSeconds} s API, ${durationSeconds} s bare SDK, plus warm-ups)`);
  throughput = await measureThroughput(cloud, projectId, token, { durationSeconds });
  print(throughputMarkdown(throughput));

  progress('delivery orchestration (22 deploys, 12 rollbacks, an approval, an auto-rollback; real waits)');
  delivery = await measureDelivery(cloud);
  print(deliveryMarkdown(delivery));

  progress('the freeze check on a deploy request (120 deploys, 0 to 250 freezes; real waits)');
  freezeCheck = await measureFreezeCheck(cloud);
  print(freezeCheckMarkdown(freezeCheck));

  progress('builds (9 builds, real waits; a 5 MiB stored log streamed)');
  builds = await measureBuilds(cloud);
  print(buildsMarkdown(builds));

  progress('pipeline runs (12 runs: build, deploy dev; real waits)');
  pipelines = await measurePipelines(cloud);
  print(pipelinesMarkdown(pipelines));

  progress('Git webhook deliveries (320 signed pushes to 202, 20 to a started run)');
  hooks = await measureHooks(cloud);
  print(hooksMarkdown(hooks));

  progress('approvals from chat (15 signed Approve callbacks per platform; real workflows)');
  chat = await measureChat(cloud);
  print(chatMarkdown(chat));

  progress('audit checkpoints (1,000 chains seeded)');
  checkpoints = await measureCheckpoints(cloud);
  print(checkpointsMarkdown(checkpoints));

  progress('DORA metrics (a year of 10,000 deployments counted, then GET /metrics/dora)');
  dora = await measureDora(cloud);
  print(doraMarkdown(dora));
  progress(
    'schedule fires (40 one-time schedules over 8 s, then 20 deploy schedules through the API for the next minute; real clock)',
  );
  fires = await measureFires(cloud);
  print(firesMarkdown(fires));
  print(`Load average at end: ${loadAverage()}.`);
} finally {
  // A DynamoDB Local JVM left behind would keep its port and memory after we are gone.
  await cloud.stop();
}

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'results.md'), `${sections.join('\n\n')}\n`);
writeFileSync(
  join(outDir, 'results.json'),
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.versions.node,
      bundles,
      tracingOverhead,
      overhead,
      metricsOverhead,
      throughput,
      delivery,
      freezeCheck,
      builds,
      pipelines,
      hooks,
      chat,
      checkpoints,
      dora,
      fires,
    },
    null,
    2,
  )}\n`,
);
progress(`wrote ${join(outDir, 'results.md')} and results.json`);
if (guardFailed) {
  progress(`FAILED: ${KUBERNETES_CLIENT} is bundled into ${bundles.apiFunctionsWithKubernetesClient.join(', ')}`);
  process.exitCode = 1;
}

/** The one project every measurement reads; its creation also registers the user `bench`. */
async function createProject(url: string, token: string): Promise<string> {
  const response = await fetch(`${url}/api/v1/projects`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  });
  const body = (await response.json()) as { id?: string };
  if (response.status !== 201 || typeof body.id !== 'string') {
    throw new Error(`Creating the bench project answered ${response.status}: ${JSON.stringify(body)}`);
  }
  return body.id;
}
