/**
 * Runs handler modules in this process the way the Lambda Node.js runtime calls them: the module
 * is imported once (the "init" phase) and reused, each call gets a Context, and a call that runs
 * past the function's timeout is a failure.
 *
 * Differences from Lambda, by design: all functions share one process and its environment; a
 * function is called concurrently instead of once per sandbox; a timed-out call keeps running in
 * the background (its result is dropped) instead of its sandbox being destroyed.
 *
 * Per-invocation values (request id, X-Ray trace header) cannot live in `process.env` here: calls
 * interleave across awaits. They live where Lambda's Node.js runtime keeps them when it runs calls
 * concurrently: `globalThis.awslambda.InvokeStore`, backed by an AsyncLocalStorage. Powertools and
 * the AWS SDK read the trace id from there (ADR 28).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { continueTrace } from './trace-header.ts';

/** What the runtime needs of a function; the manifest's FunctionSpec is one. */
export interface FunctionLike {
  name: string;
  /** Module exporting `handler`, relative to the repository root. */
  entry: string;
  timeoutSeconds: number;
  memoryMb: number;
}

/** How the caller hands a call its trace: the gateway, a Step Functions task (Lambda's `_X_AMZN_TRACE_ID`). */
export interface InvokeOptions {
  /** `Root=1-...;Parent=...;Sampled=1`. Absent: the call starts a trace of its own, as Lambda's does. */
  traceHeader?: string;
}

export type Invocation =
  | { outcome: 'result'; result: unknown }
  | { outcome: 'error'; error: unknown }
  /** The function ran past its own timeout: Lambda fails the call. */
  | { outcome: 'function-timeout' }
  /** API Gateway stopped waiting (integration timeout, 30 s on HTTP APIs) before the function finished. */
  | { outcome: 'integration-timeout' };

export interface LambdaRuntimeOptions {
  /** Entries are resolved from here. */
  rootDir: string;
  region: string;
  accountId: string;
  /** API Gateway's integration timeout: CloudFormation's default and maximum for HTTP APIs is 30 s. */
  integrationTimeoutMs: number;
}

export interface LambdaRuntime {
  invoke(
    fn: FunctionLike,
    event: unknown,
    options?: InvokeOptions,
  ): Promise<Invocation & { awsRequestId: string; traceHeader: string }>;
}

type Handler = (event: unknown, context: Context) => unknown;

interface LoadedFunction {
  handler: Handler;
  logStreamName: string;
}

export const localFunctionName = (fn: FunctionLike): string => `slipway-${fn.name}`;

/** The keys Lambda's runtime keeps its own per-invocation values under (@aws/lambda-invoke-store). */
const REQUEST_ID = Symbol.for('_AWS_LAMBDA_REQUEST_ID');
const X_RAY_TRACE_ID = Symbol.for('_AWS_LAMBDA_X_RAY_TRACE_ID');

interface InvocationContext {
  functionName: string;
  awsRequestId: string;
  traceHeader: string;
  [key: string | symbol]: unknown;
}

/** Which invocation the running code belongs to: functions share this process, so tests attribute SDK calls by it. */
const invocations = new AsyncLocalStorage<InvocationContext>();
export const currentInvocation = () => invocations.getStore();

/**
 * Lambda's InvokeStore protocol over that storage, installed before any handler loads: the AWS SDK
 * and Powertools take `globalThis.awslambda.InvokeStore` when it exists instead of making their own.
 */
const invokeStore = {
  getContext: () => invocations.getStore(),
  hasContext: () => invocations.getStore() !== undefined,
  get: (key: string | symbol) => invocations.getStore()?.[key],
  set(key: string | symbol, value: unknown) {
    const store = invocations.getStore();
    if (store === undefined) throw new Error('No context available');
    if (key === REQUEST_ID || key === X_RAY_TRACE_ID)
      throw new Error(`Cannot modify protected Lambda context field: ${String(key)}`);
    store[key] = value;
  },
  run: <T>(context: InvocationContext, fn: () => T): T => invocations.run(context, fn),
  getRequestId: () => invocations.getStore()?.awsRequestId ?? '-',
  getXRayTraceId: () => invocations.getStore()?.traceHeader,
  getTenantId: () => undefined,
  getTraceparent: () => undefined,
  getTracestate: () => undefined,
  getBaggage: () => undefined,
};
const lambdaGlobal = globalThis as { awslambda?: Record<string, unknown> };
lambdaGlobal.awslambda = { ...lambdaGlobal.awslambda, InvokeStore: invokeStore };

export function createLambdaRuntime(options: LambdaRuntimeOptions): LambdaRuntime {
  const loaded = new Map<string, Promise<LoadedFunction>>();

  const load = (fn: FunctionLike): Promise<LoadedFunction> => {
    const file = resolve(options.rootDir, fn.entry);
    let entry = loaded.get(file);
    if (entry === undefined) {
      entry = importHandler(file, fn.entry);
      // A module that failed to load is retried on the next call (the developer may be fixing it).
      entry.catch(() => loaded.delete(file));
      loaded.set(file, entry);
    }
    return entry;
  };

  return {
    async invoke(fn, event, invokeOptions = {}) {
      const awsRequestId = randomUUID();
      const traceHeader = continueTrace(invokeOptions.traceHeader);
      const timers: NodeJS.Timeout[] = [];
      const after = <T>(ms: number, value: T) =>
        new Promise<T>((done) => {
          timers.push(setTimeout(() => done(value), ms));
        });
      const integrationTimeout = after(options.integrationTimeoutMs, { outcome: 'integration-timeout' } as const);
      try {
        const call = async (): Promise<Invocation> => {
          // Init (the import) is not part of the function's timeout, as on Lambda.
          const { handler, logStreamName } = await load(fn);
          const deadline = Date.now() + fn.timeoutSeconds * 1000;
          const context = lambdaContext(fn, options, awsRequestId, logStreamName, deadline);
          const scope: InvocationContext = {
            functionName: context.functionName,
            awsRequestId,
            traceHeader,
            [REQUEST_ID]: awsRequestId,
            [X_RAY_TRACE_ID]: traceHeader,
          };
          const running = invocations
            .run(scope, async () => handler(event, context))
            .then(
              (result): Invocation => ({ outcome: 'result', result }),
              (error: unknown): Invocation => ({ outcome: 'error', error }),
            );
          return Promise.race([running, after(fn.timeoutSeconds * 1000, { outcome: 'function-timeout' } as const)]);
        };
        const invocation = await Promise.race([
          call().catch((error: unknown): Invocation => ({ outcome: 'error', error })),
          integrationTimeout,
        ]);
        return { ...invocation, awsRequestId, traceHeader };
      } finally {
        for (const timer of timers) clearTimeout(timer);
      }
    },
  };
}

async function importHandler(file: string, entry: string): Promise<LoadedFunction> {
  const module = (await import(pathToFileURL(file).href)) as { handler?: unknown };
  if (typeof module.handler !== 'function') {
    throw new Error(`Runtime.HandlerNotFound: ${entry} does not export a function named handler`);
  }
  return { handler: module.handler as Handler, logStreamName: logStreamName(new Date()) };
}

function lambdaContext(
  fn: FunctionLike,
  options: LambdaRuntimeOptions,
  awsRequestId: string,
  logStreamName: string,
  deadline: number,
): Context {
  const functionName = localFunctionName(fn);
  const unsupported = (): never => {
    throw new Error('context.done/succeed/fail are not supported locally: return a value (or a promise) instead');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${options.region}:${options.accountId}:function:${functionName}`,
    memoryLimitInMB: String(fn.memoryMb),
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/** `2026/11/27/[$LATEST]0123456789abcdef0123456789abcdef`: one stream per loaded function, as per sandbox. */
function logStreamName(created: Date): string {
  const date = created.toISOString().slice(0, 10).replaceAll('-', '/');
  return `${date}/[$LATEST]${randomBytes(16).toString('hex')}`;
}
