/**
 * The local cloud's AWS services beyond DynamoDB and API Gateway, wired from the manifest the way
 * infra/aws wires them on AWS: Step Functions running the same ASL files, the EventBridge bus with
 * the manifest's rules and schedules, Secrets Manager, KMS, S3 (with the audit checkpoints' Object
 * Lock bucket and signing key), the table stream feeding the event publisher, and the simulated
 * Kubernetes cluster (a simulator: no kube-apiserver can run here).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV } from '../../shared/config.ts';
import { ALLOWED_LOOPBACK_ENV } from '../../shared/net/cluster-egress.ts';
import { METRICS_NAMESPACE } from '../../shared/telemetry/metrics.ts';
import {
  EVENT_BUS_NAME,
  type FunctionSpec,
  functions,
  LOCAL_STAGE,
  rules,
  type ScheduleSpec,
  type StateMachineSpec,
  scheduleGroupName,
  schedules,
  stateMachines,
  streamConsumer,
  workflowName,
} from '../manifest.ts';
import { LOCAL_ACCOUNT_ID } from './api-event.ts';
import { type AwsEndpoint, startAwsEndpoint } from './aws-endpoint.ts';
import { CHAT_APPS_SECRET_NAME, generateChatApps } from './chat-apps.ts';
import { createLocalEventBus, type LocalEventBus } from './eventbridge/bus.ts';
import { type GitProviderSimulator, startGitProviderSimulator } from './git-provider.ts';
import { createLocalKms, type LocalKms } from './kms/service.ts';
import { type KubernetesSimulator, startKubernetesSimulator } from './kubernetes/simulator.ts';
import { createLambdaRuntime, type FunctionLike, localFunctionName } from './lambda-runtime.ts';
import { createMetricsCollector, type MetricsCollector } from './metrics.ts';
import { LocalBuckets } from './s3/buckets.ts';
import { s3Handler } from './s3/server.ts';
import { schedulerHandler } from './scheduler/api.ts';
import { createLocalScheduler, type LocalScheduler } from './scheduler/schedules.ts';
import { createLocalSecrets } from './secrets.ts';
import { createLocalStepFunctions, type LocalStepFunctions, type MachineOverrides } from './stepfunctions/service.ts';
import { type StreamPoller, startStreamPoller } from './streams.ts';

export const LOCAL_REGION = 'us-east-1';
/** Where `npm start` keeps the simulator's token: register the simulated cluster with this secret. */
export const SIMULATOR_SECRET_NAME = 'slipway/clusters/local-simulator';
/** The audit checkpoints' Object Lock bucket and signing key (on AWS: DataStack's). */
export const AUDIT_BUCKET = 'slipway-audit-checkpoints';
export const AUDIT_KEY_ALIAS = 'slipway-audit-checkpoints';
/** Short, so a local data folder's checkpoints do not stay undeletable for long. */
const LOCAL_AUDIT_RETENTION_DAYS = 1;
/** The schedules API's Scheduler group, role and dead-letter queue (on AWS: DeliveryStack's). */
export const SCHEDULE_GROUP = scheduleGroupName(LOCAL_STAGE);
export const SCHEDULER_ROLE_ARN = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/slipway-local-scheduler`;
export const SCHEDULE_DLQ_ARN = `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:slipway-local-schedule-dead-letters`;

export interface ServicesOptions {
  rootDir: string;
  dataDir: string | undefined;
  dynamoEndpoint: string;
  tableName: string;
  extraFunctions?: readonly FunctionLike[];
  /** Per state machine (`deploy`, `rollback`, `build`): shorter waits for tests, without touching the ASL. */
  workflowOverrides?: Partial<Record<StateMachineSpec['name'], MachineOverrides>>;
  /** Bus retry backoff; tests shorten it. */
  busBackoff?: { initialMs: number; maxMs: number };
  /** The simulated cluster's pace (podStartMs 0: instant rollouts). */
  kubernetes?: { port?: number; podStartMs?: number; badImageFailAfterMs?: number };
  /** Loopback `ip:port` where clusters may be besides the simulator (a kind cluster; tests: a closed port). */
  clusterLoopback?: readonly string[];
  /** Chat channel configuration (shared/notify/config.ts), stored as the notifier's secret. */
  chat?: Record<string, unknown>;
  /** The chat platforms' apps (`slipway/chat/apps`): bot credentials for approval cards (ADR 31). */
  chatApps?: Record<string, unknown>;
  /** The AWS endpoint's port (npm start: 4566, as LocalStack, so AWS tools find it); default: a free one. */
  awsPort?: number;
  /** Run the manifest's schedules on timers (default); tests fire them with `tick` instead. */
  schedules?: boolean;
  /** The local Scheduler's retry backoff, and where its clock starts (a restart at a chosen instant); tests set them. */
  schedulerBackoff?: { initialMs: number; maxMs: number };
  schedulerNow?: Date;
  log?: (line: string) => void;
  /** Print the functions' EMF lines too (npm start); they are collected either way. */
  printMetrics?: boolean;
}

export interface LocalServices {
  endpoint: AwsEndpoint;
  stepFunctions: LocalStepFunctions;
  bus: LocalEventBus;
  kubernetes: KubernetesSimulator & { tokenSecretArn: string };
  /** Plays GitHub's and GitLab's APIs for commit statuses (git-provider.ts). */
  git: GitProviderSimulator;
  kms: LocalKms;
  s3: LocalBuckets;
  /** The functions' EMF metrics and the bus's counts (`GET /_local/metrics`). */
  metrics: MetricsCollector;
  /** EventBridge Scheduler: the schedules the API makes, fired on its clock (`setNow`, `advance` move it). */
  scheduler: LocalScheduler;
  /** Fires a schedule of the manifest now, as its timer would (tests and the bench do not wait minutes). */
  tick(schedule: ScheduleSpec['name']): Promise<unknown>;
  stateMachineArn(name: StateMachineSpec['name']): string;
  /** Stores a secret (e.g. a real cluster's token) and answers its ARN. */
  putSecret(name: string, value: string): string;
  /** The environment the functions read (endpoints, bus, state machines). */
  environment: Record<string, string>;
  /** Starts the table stream's consumer; call once the functions' environment is set (they read it at import). */
  startStreams(): void;
  /** Starts the Scheduler's fires (a missed one first), likewise once the functions' environment is set. */
  startScheduler(): void;
  stop(): Promise<void>;
}

export const functionArn = (fn: FunctionLike) =>
  `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${localFunctionName(fn)}`;

export async function startServices(options: ServicesOptions): Promise<LocalServices> {
  const all: FunctionLike[] = [...functions, ...(options.extraFunctions ?? [])];
  const byName = new Map(all.map((fn) => [fn.name, fn]));
  const byArn = new Map(all.map((fn) => [functionArn(fn), fn]));
  // Workflow and bus invocations are not bound by API Gateway's 30 s: only by the function's own timeout.
  const runtime = createLambdaRuntime({
    rootDir: options.rootDir,
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    integrationTimeoutMs: 15 * 60_000,
  });
  const invoke = async (fn: FunctionLike, payload: unknown, traceHeader?: string): Promise<unknown> => {
    const invocation = await runtime.invoke(fn, payload, traceHeader === undefined ? {} : { traceHeader });
    if (invocation.outcome === 'result') return invocation.result;
    if (invocation.outcome === 'error') throw asLambdaError(invocation.error);
    throw Object.assign(new Error(`${fn.name} timed out after ${fn.timeoutSeconds} s`), { name: 'Sandbox.Timedout' });
  };
  const invokeByName = (name: string, payload: unknown) => invoke(byName.get(name) as FunctionLike, payload);

  const dataPath = (...parts: string[]) => (options.dataDir ? join(options.dataDir, ...parts) : undefined);
  const secrets = createLocalSecrets({
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    ...(options.dataDir ? { file: dataPath('secrets.json') } : {}),
  });

  const metrics = createMetricsCollector();
  const busCounts = { retried: 'BusDeliveriesRetried', 'dead-lettered': 'BusDeliveriesDeadLettered' } as const;

  const bus = createLocalEventBus({
    busName: EVENT_BUS_NAME,
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    rules: rules.map((rule) => ({
      name: rule.name,
      pattern: rule.pattern,
      targets: [{ id: rule.target, invoke: async (event) => void (await invokeByName(rule.target, event)) }],
      retryPolicy: rule.retry,
    })),
    ...(options.busBackoff ? { backoff: options.busBackoff } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.log ? { log: options.log } : {}),
    count: (what, rule) => metrics.count(METRICS_NAMESPACE, busCounts[what], { Rule: rule }, 'eventbridge'),
  });

  const stateMachineArn = (name: string) =>
    `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:stateMachine:${workflowName(LOCAL_STAGE, name)}`;
  const stepFunctions = createLocalStepFunctions({
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    stateMachines: stateMachines.map((machine) => ({
      name: workflowName(LOCAL_STAGE, machine.name),
      definition: definitionOf(
        options.rootDir,
        machine,
        (name) => functionArn(byName.get(name) as FunctionSpec),
        stateMachineArn,
      ),
    })),
    invokeFunction: async (arn, payload, traceHeader) => {
      const fn = byArn.get(arn);
      if (!fn)
        throw Object.assign(new Error(`Function not found: ${arn}`), { name: 'Lambda.ResourceNotFoundException' });
      return invoke(fn, payload, traceHeader);
    },
    dynamoEndpoint: options.dynamoEndpoint,
    putEvents: async (entries) =>
      (await bus.service('PutEvents', { Entries: entries })) as { FailedEntryCount: number; Entries: unknown[] },
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    // As on AWS, every execution's end is an event ("Step Functions Execution Status Change").
    onExecutionEnd: (execution) =>
      bus.emit({
        source: 'aws.states',
        detailType: 'Step Functions Execution Status Change',
        resources: [execution.executionArn],
        detail: {
          executionArn: execution.executionArn,
          stateMachineArn: execution.stateMachineArn,
          name: execution.name,
          status: execution.status,
          startDate: execution.startDate,
          stopDate: execution.stopDate ?? null,
          input: execution.input,
          output: execution.output ?? null,
          error: execution.error ?? null,
          cause: execution.cause ?? null,
        },
      }),
    overrides: Object.fromEntries(
      Object.entries(options.workflowOverrides ?? {}).map(([name, overrides]) => [
        workflowName(LOCAL_STAGE, name),
        overrides,
      ]),
    ),
  });

  const simulator = await startKubernetesSimulator({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...options.kubernetes,
  });
  const tokenSecretArn = secrets.put(SIMULATOR_SECRET_NAME, simulator.token);
  // Commit statuses go to the simulator unless an app names its own API; it is on loopback, so allowed by name.
  const git = await startGitProviderSimulator(options.log ?? (() => {}));
  const chatSecretArn = options.chat ? secrets.put('slipway/chat', JSON.stringify(options.chat)) : undefined;
  // The chat apps' credentials: as given (the receiver's, under npm start and in tests), else generated
  // once and kept with the data; callbacks signed by `npm run chat` verify with them.
  if (options.chatApps) secrets.put(CHAT_APPS_SECRET_NAME, JSON.stringify(options.chatApps));
  else if (secrets.current(CHAT_APPS_SECRET_NAME) === undefined) {
    secrets.put(CHAT_APPS_SECRET_NAME, JSON.stringify(generateChatApps()));
  }

  const kms = createLocalKms({
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    ...(options.dataDir ? { file: dataPath('kms', 'keys.json') } : {}),
  });
  const s3 = new LocalBuckets(dataPath('s3'));
  s3.ensure(AUDIT_BUCKET, {
    objectLock: true,
    defaultRetention: { mode: 'COMPLIANCE', days: LOCAL_AUDIT_RETENTION_DAYS },
  });

  const scheduler = createLocalScheduler({
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    groups: [SCHEDULE_GROUP],
    // Scheduler invokes Lambda asynchronously: what the target answers does not matter, only that it took the event.
    invoke: async (arn, payload) => {
      const fn = byArn.get(arn);
      if (!fn)
        throw Object.assign(new Error(`Function not found: ${arn}`), { name: 'Lambda.ResourceNotFoundException' });
      await invoke(fn, payload);
    },
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.schedulerBackoff ? { backoff: options.schedulerBackoff } : {}),
    ...(options.schedulerNow ? { now: options.schedulerNow } : {}),
    ...(options.log ? { log: options.log } : {}),
  });

  const endpoint = await startAwsEndpoint({
    ...(options.awsPort === undefined ? {} : { port: options.awsPort }),
    services: {
      AWSStepFunctions: stepFunctions.service,
      AWSEvents: bus.service,
      secretsmanager: secrets.service,
      TrentService: kms.service,
    },
    rest: s3Handler(s3),
    restBySigningName: { scheduler: schedulerHandler(scheduler) },
    views: {
      '/_local/eventbridge/dead-letters': () => bus.deadLetters(),
      '/_local/scheduler/dead-letters': () => scheduler.deadLetters(),
      '/_local/metrics': () => ({ metrics: metrics.series() }),
      '/_local/metrics/emf': () => metrics.documents(),
    },
  });

  const environment: Record<string, string> = {
    AWS_ENDPOINT_URL_SFN: endpoint.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url,
    AWS_ENDPOINT_URL_KMS: endpoint.url,
    AWS_ENDPOINT_URL_S3: endpoint.url,
    AWS_ENDPOINT_URL_SCHEDULER: endpoint.url,
    [ENV.auditBucket]: AUDIT_BUCKET,
    [ENV.auditKeyId]: kms.signingKey(AUDIT_KEY_ALIAS),
    [ENV.auditRetentionDays]: String(LOCAL_AUDIT_RETENTION_DAYS),
    [ENV.eventBusName]: EVENT_BUS_NAME,
    [ENV.deployStateMachineArn]: stateMachineArn('deploy'),
    [ENV.rollbackStateMachineArn]: stateMachineArn('rollback'),
    [ENV.buildStateMachineArn]: stateMachineArn('build'),
    [ENV.pipelineStateMachineArn]: stateMachineArn('pipeline'),
    [ENV.scheduleGroup]: SCHEDULE_GROUP,
    [ENV.scheduleTargetArn]: functionArn(byName.get('schedule-fire') as FunctionLike),
    [ENV.schedulerRoleArn]: SCHEDULER_ROLE_ARN,
    [ENV.scheduleDlqArn]: SCHEDULE_DLQ_ARN,
    ...(chatSecretArn ? { [ENV.chatSecretArn]: chatSecretArn } : {}),
    [ENV.chatAppsSecret]: CHAT_APPS_SECRET_NAME,
    [ENV.githubApiUrl]: git.url,
    [ENV.gitlabApiUrl]: git.gitlabUrl,
    [ENV.gitAllowPrivateHosts]: new URL(git.url).hostname,
    // Project chat channels may post to local receivers on loopback (never anywhere private on AWS).
    [ENV.chatAllowPrivateHosts]: '127.0.0.1',
    // Clusters may not be on loopback, where the simulator listens: it is allowed by its exact address (ADR 13).
    [ALLOWED_LOOPBACK_ENV]: [...new Set([new URL(simulator.url).host, ...(options.clusterLoopback ?? [])])].join(','),
  };

  // Failures are said even when the access log is quiet (a stream or schedule that stops matters).
  const log = options.log ?? ((line: string) => console.error(line));
  // Scheduled rules invoke their target with a "Scheduled Event"; a failed tick is made up by the next.
  const tick = (name: string) => {
    const schedule = schedules.find((s) => s.name === name);
    if (!schedule) throw new Error(`manifest.ts has no schedule ${name}`);
    return invokeByName(schedule.target, scheduledEvent(schedule));
  };
  const timers = (options.schedules === false ? [] : schedules).map((schedule) =>
    setInterval(
      () => tick(schedule.name).catch((error: unknown) => log(`schedule ${schedule.name}: ${String(error)}`)),
      schedule.everyMinutes * 60_000,
    ).unref(),
  );

  let streams: StreamPoller | undefined;
  const startStreams = () => {
    streams = startStreamPoller({
      dynamoEndpoint: options.dynamoEndpoint,
      tableName: options.tableName,
      region: LOCAL_REGION,
      filter: streamConsumer.filter,
      batchSize: streamConsumer.batchSize,
      ...(options.dataDir ? { checkpointFile: dataPath('streams', 'checkpoint.json') } : {}),
      invoke: async (event) => (await invokeByName(streamConsumer.function, event)) as never,
      // A stream that stops flowing stops every event: say so even when the access log is quiet.
      log,
    });
  };

  // Last, so a start that fails leaves stdout as it was.
  const untapMetrics = metrics.tapStdout(options.printMetrics ?? false);
  return {
    endpoint,
    stepFunctions,
    bus,
    kubernetes: Object.assign(simulator, { tokenSecretArn }),
    git,
    kms,
    s3,
    metrics,
    scheduler,
    tick,
    stateMachineArn,
    putSecret: (name, value) => secrets.put(name, value),
    environment,
    startStreams,
    startScheduler: () => scheduler.start(),
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await scheduler.stop();
      await streams?.stop();
      await stepFunctions.stop();
      // Executions cut short by the stop are events too: let their consumers record them, briefly.
      await Promise.race([bus.drained(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
      await bus.stop();
      await endpoint.close();
      await simulator.stop();
      await git.close();
      untapMetrics();
    },
  };
}

/**
 * The ASL file with `${Name}` replaced, as CDK's definitionSubstitutions does on AWS: by the ARN of
 * a function, or of a state machine it runs nested.
 */
export function definitionOf(
  rootDir: string,
  machine: StateMachineSpec,
  arnOf: (fn: string) => string,
  machineArnOf: (name: string) => string,
): object {
  const text = readFileSync(join(rootDir, machine.file), 'utf8').replace(/\$\{(\w+)\}/g, (whole, name: string) => {
    const fn = machine.functions[name];
    const nested = machine.stateMachines?.[name];
    if (fn) return arnOf(fn);
    if (nested) return machineArnOf(nested);
    throw new Error(`${machine.file}: no substitution for ${whole}`);
  });
  return JSON.parse(text) as object;
}

/** The event a scheduled EventBridge rule delivers (`aws.events`, "Scheduled Event", the rule as its resource). */
function scheduledEvent(schedule: ScheduleSpec) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT_ID,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:rule/slipway-${schedule.name}`],
    detail: {},
  };
}

/** What Step Functions and EventBridge see of a failed invocation: the error's type and message. */
function asLambdaError(error: unknown): Error {
  if (error instanceof Error) return error;
  return Object.assign(new Error(String(error)), { name: 'Error' });
}
