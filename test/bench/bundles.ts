/**
 * Section 1: what each function costs before it serves anything. Every manifest function (API,
 * workflow, bus and stream) is bundled the way production bundles it
 * (infra/aws/platform-function.ts), then measured for size, gzip size and module import time, next
 * to "the floor": a handler that only does a DynamoDB DocumentClient GetCommand. Ratios against
 * the floor are what we can act on; the absolute numbers depend on this machine. It also guards
 * that the Kubernetes client stays in the functions that reach clusters (the deployer and the build
 * steps): no API function, the builds API among them, may bundle it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { type FunctionSpec, functions } from '../../infra/manifest.ts';
import { kb, ms, percentile, ratio, table } from './stats.ts';

export const TARGET = 1.5;
export const STRETCH = 1.25;
/** Only workflow and bus functions reach clusters; in an API function this package would be dead weight on every cold start. */
export const KUBERNETES_CLIENT = '@kubernetes/client-node';

const FLOOR_SOURCE = `// Written by test/bench/bundles.ts: the least a DynamoDB-backed handler can ship.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';

const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async (event: { id: string }) => {
  const out = await client.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: { PK: event.id, SK: 'PROJECT' } }));
  return out.Item;
};
`;

/**
 * The floor with what every function now carries for metrics (ADR 27): the invocation's record
 * around the handler and its EMF publishing through Powertools Metrics. Against the floor it says
 * what metrics add to every cold start.
 */
const floorWithMetricsSource = (repoRoot: string) => `// Written by test/bench/bundles.ts: the floor, with metrics.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { publishMetrics } from ${JSON.stringify(join(repoRoot, 'shared/telemetry/emf.ts'))};
import { recordingMetrics, recordMetric } from ${JSON.stringify(join(repoRoot, 'shared/telemetry/metrics.ts'))};

const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = (event: { id: string }, context: { functionName: string }) =>
  recordingMetrics(async () => {
    const out = await client.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: { PK: event.id, SK: 'PROJECT' } }));
    recordMetric('DeploymentsStarted', 1, { Kind: 'deploy', Tier: 'other' });
    return out.Item;
  }, (recorded) => publishMetrics(recorded, context.functionName));
`;

/**
 * The floor in middy with the tracer middleware every function now carries (ADR 28): Powertools
 * Tracer and the X-Ray SDK it wraps. Against the floor it says what tracing adds to every cold start
 * (middy included: every function has it anyway).
 */
const floorWithTracerSource = (repoRoot: string) => `// Written by test/bench/bundles.ts: the floor, traced.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import { tracing } from ${JSON.stringify(join(repoRoot, 'shared/telemetry/tracing.ts'))};

const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = middy(async (event: { id: string }) => {
  const out = await client.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: { PK: event.id, SK: 'PROJECT' } }));
  return out.Item;
}).use(tracing());
`;

export interface BundleResult {
  name: string;
  /** Who calls it (the manifest's trigger); `floor` for the floor. */
  trigger: NonNullable<FunctionSpec['trigger']> | 'floor';
  bytes: number;
  gzipBytes: number;
  importMs: { p50: number; p90: number; samples: number[] };
  /** Largest packages in the output, from esbuild's metafile. */
  topPackages: { name: string; bytes: number }[];
  /** Whether esbuild read any file of @kubernetes/client-node for this bundle (the metafile's inputs). */
  hasKubernetesClient: boolean;
}

export interface BundlesReport {
  runs: number;
  floor: BundleResult;
  functions: (BundleResult & { vsFloor: { size: number; gzip: number; importP50: number } })[];
  /** API functions whose bundle contains @kubernetes/client-node: must stay empty. */
  apiFunctionsWithKubernetesClient: string[];
}

/** `only`: these functions (and the floor), for measuring one area alone. */
export async function measureBundles(repoRoot: string, runs = 20, only?: readonly string[]): Promise<BundlesReport> {
  const benchDir = join(repoRoot, '.bench');
  mkdirSync(join(benchDir, 'bundles'), { recursive: true });
  writeFileSync(join(benchDir, 'floor.ts'), FLOOR_SOURCE);
  writeFileSync(join(benchDir, 'floor-metrics.ts'), floorWithMetricsSource(repoRoot));
  writeFileSync(join(benchDir, 'floor-tracer.ts'), floorWithTracerSource(repoRoot));

  const entries = [
    { name: 'floor', trigger: 'floor' as const, entry: join(benchDir, 'floor.ts') },
    { name: 'floor+metrics', trigger: 'floor' as const, entry: join(benchDir, 'floor-metrics.ts') },
    { name: 'floor+tracer', trigger: 'floor' as const, entry: join(benchDir, 'floor-tracer.ts') },
    ...functions
      .filter((fn) => only === undefined || only.includes(fn.name))
      .map((fn) => ({ name: fn.name, trigger: fn.trigger ?? 'api', entry: join(repoRoot, fn.entry) })),
  ];
  const built = [];
  for (const { name, trigger, entry } of entries) {
    const outfile = join(benchDir, 'bundles', `${name}.mjs`);
    const { metafile } = await build({
      absWorkingDir: repoRoot,
      entryPoints: [entry],
      outfile,
      metafile: true,
      logLevel: 'warning',
      // The production options (PlatformFunction's `bundling`); source maps left out: they are a
      // separate file and not what the runtime loads on init.
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      minify: true,
      mainFields: ['module', 'main'],
      banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    });
    const code = readFileSync(outfile);
    built.push({ name, trigger, outfile, bytes: code.length, gzipBytes: gzipSync(code).length, metafile });
  }

  // One untimed round warms the page cache, then rounds go round-robin over the bundles so that
  // background noise on the machine spreads over all of them instead of hitting one.
  const samples = new Map<string, number[]>(built.map((b) => [b.name, []]));
  for (let round = -1; round < runs; round++) {
    for (const b of built) {
      const took = importTime(b.outfile);
      if (round >= 0) samples.get(b.name)?.push(took);
    }
  }

  const results: BundleResult[] = built.map((b) => {
    const times = samples.get(b.name) ?? [];
    return {
      name: b.name,
      trigger: b.trigger,
      bytes: b.bytes,
      gzipBytes: b.gzipBytes,
      importMs: { p50: percentile(times, 50), p90: percentile(times, 90), samples: times },
      topPackages: topPackages(b.metafile, 4),
      hasKubernetesClient: Object.keys(b.metafile.inputs).some((path) =>
        path.includes(`node_modules/${KUBERNETES_CLIENT}/`),
      ),
    };
  });
  const [floor, ...rest] = results as [BundleResult, ...BundleResult[]];
  return {
    runs,
    floor,
    apiFunctionsWithKubernetesClient: rest
      .filter((r) => r.trigger === 'api' && r.hasKubernetesClient)
      .map((r) => r.name),
    functions: rest.map((r) => ({
      ...r,
      vsFloor: {
        size: r.bytes / floor.bytes,
        gzip: r.gzipBytes / floor.gzipBytes,
        importP50: r.importMs.p50 / floor.importMs.p50,
      },
    })),
  };
}

/**
 * Milliseconds one fresh Node process spends in `await import(bundle)`, measured inside the child
 * so process start-up is left out. A clean environment keeps NODE_OPTIONS or NODE_COMPILE_CACHE
 * from the caller out of the measurement; the variables are the ones Lambda would set.
 */
function importTime(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { AWS_REGION: 'us-east-1', TABLE_NAME: 'slipway', POWERTOOLS_SERVICE_NAME: 'slipway', TZ: 'UTC' },
  });
  const took = Number(child.stdout);
  if (child.status !== 0 || !Number.isFinite(took)) throw new Error(`Importing ${file} failed: ${child.stderr}`);
  return took;
}

function topPackages(metafile: Metafile, count: number): { name: string; bytes: number }[] {
  const output = Object.values(metafile.outputs)[0];
  const byPackage = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    // The innermost node_modules folder names the package; anything else is our own code.
    const match = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const name = match?.[1] ?? '(slipway)';
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  return [...byPackage]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, count);
}

function verdict(ratios: Record<string, number>): string {
  const [worstName, worst] = Object.entries(ratios).sort((a, b) => b[1] - a[1])[0] as [string, number];
  if (worst <= STRETCH) return `stretch met (≤${STRETCH}x)`;
  if (worst <= TARGET) return `met (≤${TARGET}x)`;
  return `**missed** (${worstName} ${ratio(worst)})`;
}

export function bundlesMarkdown(report: BundlesReport): string {
  const { floor } = report;
  const row = (r: BundleResult, target: string, ratios?: { size: number; gzip: number; importP50: number }) => [
    r.name,
    r.trigger,
    kb(r.bytes),
    kb(r.gzipBytes),
    ms(r.importMs.p50, 1),
    ms(r.importMs.p90, 1),
    ratios ? ratio(ratios.size) : '1.00x',
    ratios ? ratio(ratios.gzip) : '1.00x',
    ratios ? ratio(ratios.importP50) : '1.00x',
    target,
  ];
  const sizes = table(
    [
      'function',
      'trigger',
      'minified',
      'gzip',
      'import p50',
      'import p90',
      'size/floor',
      'gzip/floor',
      'import/floor',
      'target',
    ],
    [
      row(floor, '(the floor)'),
      ...report.functions.map((f) =>
        row(f, verdict({ size: f.vsFloor.size, gzip: f.vsFloor.gzip, import: f.vsFloor.importP50 }), f.vsFloor),
      ),
    ],
  );
  const packages = table(
    ['function', 'largest packages in the bundle (minified bytes)'],
    [floor, ...report.functions].map((r) => [r.name, r.topPackages.map((p) => `${p.name} ${kb(p.bytes)}`).join(', ')]),
  );
  return [
    '## Bundles',
    '',
    `Every function in the manifest, with the production esbuild options (ESM, minified, node24, SDK bundled). Import time: ${report.runs} fresh Node ${process.versions.node} processes per bundle, \`await import()\` timed inside the child. Target: every ratio ≤${TARGET}x (stretch ${STRETCH}x).`,
    '',
    sizes,
    '',
    packages,
    '',
    clusterFunctionsMarkdown(report),
    '',
    kubernetesGuardLine(report),
  ].join('\n');
}

/** The functions that carry the Kubernetes client, on their own: their cold start is a workflow's, not a user's. */
function clusterFunctionsMarkdown(report: BundlesReport): string {
  const carriers = report.functions.filter((f) => f.hasKubernetesClient);
  return [
    '### Functions that reach clusters',
    '',
    ...carriers.map(
      (f) =>
        `- ${f.name} (${f.trigger}): ${kb(f.bytes)} minified (${ratio(f.vsFloor.size)} the floor), ${kb(f.gzipBytes)} gzip (${ratio(f.vsFloor.gzip)}), import p50 ${ms(f.importMs.p50, 1)} / p90 ${ms(f.importMs.p90, 1)} (${ratio(f.vsFloor.importP50)}).`,
    ),
  ].join('\n');
}

/** The guard's verdict; run.ts exits non-zero when an API function carries the Kubernetes client. */
export function kubernetesGuardLine(report: BundlesReport): string {
  const api = report.functions.filter((f) => f.trigger === 'api').map((f) => f.name);
  const offenders = report.apiFunctionsWithKubernetesClient;
  return offenders.length === 0
    ? `Guard: no API function bundle contains ${KUBERNETES_CLIENT} (metafile inputs of ${api.join(', ')}).`
    : `**Guard failed: ${KUBERNETES_CLIENT} is in the bundle of API function(s) ${offenders.join(', ')}.**`;
}
