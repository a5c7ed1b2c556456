/**
 * What tracing adds to a warm invocation (ADR 28): the wrapper's middy with the logger, timed
 * against the same with the tracer middleware too, around an empty handler. The tracer reads its
 * mode once, at import, from the environment Lambda sets, so each mode runs in a child process:
 * `disabled` as locally (no Lambda environment), and `enabled` as on Lambda with active tracing, its
 * segments sent over UDP to a stand-in X-Ray daemon here that counts them (the real daemon only
 * forwards them, off the invocation's path).
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { TARGET_P50_MS } from './overhead.ts';
import { ms, table, yesNo } from './stats.ts';

export interface TracingOverhead {
  calls: number;
  disabled: { p50: number; p99: number };
  enabled: { p50: number; p99: number; segmentsSent: number };
}

const CHILD = `
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
const root = process.argv[1];
const { logger } = await import(root + '/shared/logger.ts');
const { tracing } = await import(root + '/shared/telemetry/tracing.ts');
const [warmup, calls] = [Number(process.argv[2]), Number(process.argv[3])];
const work = async () => 'done';
const bare = middy(work).use(injectLambdaContext(logger, { resetKeys: true }));
const traced = middy(work).use(tracing()).use(injectLambdaContext(logger, { resetKeys: true }));
const context = { functionName: 'slipway-bench', awsRequestId: 'req', getRemainingTimeInMillis: () => 1000 };
const time = async (fn) => { const t = performance.now(); await fn({}, context); return performance.now() - t; };
for (let i = 0; i < warmup; i++) { await bare({}, context); await traced({}, context); }
const a = [], b = [];
for (let i = 0; i < calls; i++) { a.push(await time(traced)); b.push(await time(bare)); }
const pct = (xs, p) => { const s = Float64Array.from(xs).sort(); return s[Math.min(s.length, Math.max(1, Math.ceil(p / 100 * s.length))) - 1]; };
process.stdout.write(JSON.stringify({ p50: pct(a, 50) - pct(b, 50), p99: pct(a, 99) - pct(b, 99) }));
`;

export async function measureTracingOverhead(repoRoot: string, { warmup = 2000, calls = 20_000 } = {}) {
  const daemon = createSocket('udp4');
  let segmentsSent = 0;
  daemon.on('message', () => segmentsSent++);
  await new Promise<void>((done) => daemon.bind(0, '127.0.0.1', done));
  const { port } = daemon.address() as AddressInfo;
  const base = { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', POWERTOOLS_LOG_LEVEL: 'WARN', TZ: 'UTC' };
  const lambda = {
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: 'slipway-bench',
    LAMBDA_TASK_ROOT: repoRoot,
    _HANDLER: 'index.handler',
    _X_AMZN_TRACE_ID: 'Root=1-6750a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1',
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${port}`,
  };
  const run = async (env: Record<string, string>) => {
    // Asynchronous, so this process's socket counts the child's segments while it runs.
    return new Promise<{ p50: number; p99: number }>((resolve, reject) => {
      const child = spawn(
        join(repoRoot, 'node_modules/.bin/node'),
        ['--input-type=module', '-e', CHILD, repoRoot, String(warmup), String(calls)],
        { cwd: repoRoot, env },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      child.stderr.on('data', (chunk) => (err += chunk));
      child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
    });
  };
  try {
    const disabled = await run(base);
    const enabled = await run({ ...base, ...lambda });
    return { calls, disabled, enabled: { ...enabled, segmentsSent } } satisfies TracingOverhead;
  } finally {
    daemon.close();
  }
}

export function tracingOverheadMarkdown(report: TracingOverhead): string {
  const row = (label: string, l: { p50: number; p99: number }) => [
    label,
    ms(l.p50, 4),
    ms(l.p99, 4),
    yesNo(l.p50 < TARGET_P50_MS),
  ];
  return [
    '### What tracing adds to a warm invocation',
    '',
    `middy with the logger and the tracer middleware vs middy with the logger alone, around an empty handler; ${report.calls} timed calls each, alternating, in a child process per mode. Enabled: the Lambda environment with a sampled trace header, segments sent over UDP to a stand-in daemon (${report.enabled.segmentsSent} received). Target: < ${TARGET_P50_MS} ms p50.`,
    '',
    table(
      ['tracer', 'overhead p50', 'overhead p99', `< ${TARGET_P50_MS} ms p50`],
      [
        row('disabled (local cloud, tests)', report.disabled),
        row('enabled (Lambda, active tracing, sampled)', report.enabled),
      ],
    ),
  ].join('\n');
}
