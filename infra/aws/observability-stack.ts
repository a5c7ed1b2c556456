import { CrossStackReferences, Duration, ReferenceStrength, Stack, type StackProps } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { FilterPattern, MetricFilter } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { FINAL_DEPLOYMENT_STATES } from '../../shared/domain/deployment.ts';
import { WORKFLOW_START_FAILED } from '../../shared/telemetry/log-signals.ts';
import { METRICS_NAMESPACE, type MetricName } from '../../shared/telemetry/metrics.ts';
import { type FunctionName, functions, type StateMachineName } from '../manifest.ts';
import type { SlipwayConfig } from './config.ts';
import { dashboardName } from './dashboard-url.ts';
import type { PlatformFunction, Workflows } from './platform-function.ts';

/**
 * The metrics of ADR 27 this stack reads (Powertools EMF, namespace Slipway), named from the one
 * table the functions record by (shared/telemetry/metrics.ts): a name not in it does not compile.
 */
export const NAMESPACE = METRICS_NAMESPACE;
const recorded = <Name extends MetricName>(name: Name): Name => name;
export const METRIC = {
  deploymentsFinished: recorded('DeploymentsFinished'),
  deployDuration: recorded('DeployDuration'),
  deployQueueDepth: recorded('DeployQueueDepth'),
  /** Ours: counted from the log line of shared/telemetry/log-signals.ts by a metric filter. */
  workflowStartsFailed: 'WorkflowStartsFailed',
} as const;

/** DeploymentsFinished's Outcome values (the final deployment states). */
const OUTCOMES = FINAL_DEPLOYMENT_STATES;

/**
 * Where a deploy failure rate is an alarm: a failing deploy to a development or testing tier is often
 * what that environment is for, and would page people for nothing (ADR 28).
 */
export const ALARMED_TIERS = ['production', 'staging'] as const;

/** The deploy failure rate alarm: over this share of an hour's finished deploys, once there are enough of them. */
export const DEPLOY_FAILURE_RATE = { percent: 5, minimumDeploys: 5 } as const;
/** A function's error rate alarm: over this share of its calls in 2 of 3 five-minute periods with enough calls. */
export const FUNCTION_ERROR_RATE = { percent: 5, minimumCalls: 5 } as const;

export interface ObservabilityStackProps extends StackProps {
  config: SlipwayConfig;
  /** Every manifest function, from whichever stack built it. */
  functions: Readonly<Partial<Record<FunctionName, PlatformFunction>>>;
  workflows: Workflows;
  deadLetterQueues: readonly Queue[];
  /** The DeliveryStack's alarm topic: its subscriber turns each alarm into a chat message. */
  alarmTopic: ITopic;
}

/**
 * What operators watch (ADR 28): the dashboard (deploys by outcome, duration, queue depth, dead
 * letters, error rate and p99 latency per function, workflows) and the alarms, each sent to the
 * alarm topic on entering ALARM and on recovering.
 */
export class ObservabilityStack extends Stack {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  private readonly action: SnsAction;
  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    CrossStackReferences.of(this).consume(ReferenceStrength.STRONG); // as the other stacks (ADR 5)
    const { config } = props;
    this.prefix = `slipway-${config.stage}`;
    this.action = new SnsAction(props.alarmTopic);

    const fns = functions.flatMap((spec) => {
      const fn = props.functions[spec.name];
      return fn ? [{ spec, fn }] : [];
    });
    const machines = Object.entries(props.workflows) as [StateMachineName, Workflows[StateMachineName]][];

    for (const tier of ALARMED_TIERS) this.deployFailureRateAlarm(tier);
    for (const queue of props.deadLetterQueues) this.deadLetterAlarm(queue);
    for (const { spec, fn } of fns) this.errorRateAlarm(spec.name, fn);
    // ExecutionsFailed is on the dashboard, not alarmed: a failed deploy, build or run ends its
    // execution in a Fail state by design (the deploy failure rate alarms on deploys). A timeout
    // is never by design: the ASL bounds every wait, so an execution cut off by its own is a fault.
    for (const [name, machine] of machines) {
      this.alarm(`workflow-${name}-timed-out`, `A ${name} execution ran into its timeout: a step hung.`, {
        metric: machine.metricTimedOut({ statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: 1,
      });
    }
    this.startFailureAlarm(
      fns.filter(({ spec }) =>
        spec.capabilities?.some((c) => c === 'start-workflows' || c === 'start-builds' || c === 'run-pipelines'),
      ),
      machines,
    );

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: dashboardName(config.stage),
      defaultInterval: Duration.days(1),
    });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Deployments finished per hour, by outcome',
        left: OUTCOMES.map((outcome) => sumOverTiers(METRIC.deploymentsFinished, 'Sum', Duration.hours(1), outcome)),
        stacked: true,
        width: 12,
      }),
      new GraphWidget({
        title: 'Deploy duration p50 and p90 (queued → final), by tier',
        left: ['p50', 'p90'].map((stat) => byTier(METRIC.deployDuration, stat, `${stat} `)),
        width: 12,
      }),
      new GraphWidget({
        title: 'Queue depth when a deployment is queued (max), by tier',
        left: [byTier(METRIC.deployQueueDepth, 'Maximum', '')],
        width: 12,
      }),
      new GraphWidget({
        title: 'Dead letters waiting',
        left: props.deadLetterQueues.map((queue) =>
          queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: queue.node.id }),
        ),
        width: 12,
      }),
      ...(['api', 'other'] as const).flatMap((side) => {
        const group = fns.filter(({ spec }) => ((spec.trigger ?? 'api') === 'api') === (side === 'api'));
        const what = side === 'api' ? 'API functions' : 'workflow, bus, stream and alarm functions';
        return [
          new GraphWidget({
            title: `Error rate (%), ${what}`,
            left: group.map(({ spec, fn }, n) => errorRate(spec.name, fn, n)),
            width: 12,
          }),
          new GraphWidget({
            title: `p99 duration (ms), ${what}`,
            left: group.map(({ spec, fn }) => fn.metricDuration({ statistic: 'p99', label: spec.name })),
            width: 12,
          }),
        ];
      }),
      new GraphWidget({
        title: 'Workflow executions failed, timed out, throttled',
        left: machines.flatMap(([name, machine]) => [
          machine.metricFailed({ statistic: 'Sum', label: `${name} failed` }),
          machine.metricTimedOut({ statistic: 'Sum', label: `${name} timed out` }),
          machine.metricThrottled({ statistic: 'Sum', label: `${name} throttled` }),
        ]),
        width: 12,
      }),
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 12 }),
    );
  }

  /**
   * (failed + rolled back) / (succeeded + failed + rolled back) over an hour, in percent, and 0 while
   * fewer deploys than the minimum finished (one failure of two is no trend). Rejected, expired and
   * cancelled deploys put nothing on a cluster: they count neither way.
   */
  private deployFailureRateAlarm(tier: (typeof ALARMED_TIERS)[number]): void {
    const finished = (outcome: string) =>
      new Metric({
        namespace: NAMESPACE,
        metricName: METRIC.deploymentsFinished,
        dimensionsMap: { Outcome: outcome, Tier: tier },
        statistic: 'Sum',
        period: Duration.hours(1),
      });
    const { percent, minimumDeploys } = DEPLOY_FAILURE_RATE;
    this.alarm(
      `deploy-failure-rate-${tier}`,
      `Over ${percent}% of the deploys to ${tier} environments that finished in the last hour failed or were rolled back (at least ${minimumDeploys} finished).`,
      {
        metric: new MathExpression({
          expression: `IF(FILL(s, 0) + FILL(f, 0) + FILL(r, 0) >= ${minimumDeploys}, 100 * (FILL(f, 0) + FILL(r, 0)) / (FILL(s, 0) + FILL(f, 0) + FILL(r, 0)), 0)`,
          usingMetrics: { s: finished('succeeded'), f: finished('failed'), r: finished('rolled_back') },
          label: `Deploy failure rate, ${tier} (%)`,
          period: Duration.hours(1),
        }),
        threshold: percent,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      },
    );
  }

  /** Any message in a dead-letter queue is an event, a stream batch or an alarm that someone must redrive. */
  private deadLetterAlarm(queue: Queue): void {
    this.alarm(
      `dead-letters-${kebab(queue.node.id)}`,
      `A message is waiting in ${queue.node.id}: redrive it once fixed.`,
      {
        metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
        threshold: 1,
      },
    );
  }

  private errorRateAlarm(name: FunctionName, fn: PlatformFunction): void {
    const { percent } = FUNCTION_ERROR_RATE;
    this.alarm(`errors-${name}`, `Over ${percent}% of ${name}'s calls failed in 2 of the last 3 five-minute periods.`, {
      metric: errorRate(name, fn),
      threshold: percent,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    });
  }

  /**
   * A workflow that cannot start: Step Functions throttled StartExecution, or a starter's call failed
   * otherwise (its log line, counted by a metric filter per starter): the request got a 503.
   */
  private startFailureAlarm(
    starters: { spec: { name: FunctionName }; fn: PlatformFunction }[],
    machines: [StateMachineName, Workflows[StateMachineName]][],
  ): void {
    for (const { spec, fn } of starters) {
      new MetricFilter(this, `${spec.name}-start-failures`, {
        logGroup: fn.logGroup,
        metricNamespace: NAMESPACE,
        metricName: METRIC.workflowStartsFailed,
        filterPattern: FilterPattern.stringValue('$.message', '=', WORKFLOW_START_FAILED),
        metricValue: '1',
      });
    }
    const usingMetrics: Record<string, IMetric> = {
      startsFailed: new Metric({ namespace: NAMESPACE, metricName: METRIC.workflowStartsFailed, statistic: 'Sum' }),
      ...Object.fromEntries(machines.map(([name, machine]) => [name, machine.metricThrottled({ statistic: 'Sum' })])),
    };
    this.alarm(
      'workflow-starts-failing',
      'A deployment, build or run could not start its workflow (the API answered 503).',
      {
        metric: new MathExpression({
          expression: Object.keys(usingMetrics)
            .map((id) => `FILL(${id}, 0)`)
            .join(' + '),
          usingMetrics,
          label: 'Workflow starts refused or throttled',
          period: Duration.minutes(5),
        }),
        threshold: 1,
      },
    );
  }

  /** An alarm that tells the topic when it fires and when it recovers; no data is no problem. */
  private alarm(
    name: string,
    description: string,
    props: {
      metric: IMetric;
      threshold: number;
      comparisonOperator?: ComparisonOperator;
      evaluationPeriods?: number;
      datapointsToAlarm?: number;
    },
  ): void {
    const alarm = new Alarm(this, `Alarm-${name}`, {
      alarmName: `${this.prefix}-${name}`,
      alarmDescription: description,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      ...props,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
  }
}

/** Errors over invocations in percent, 0 below the minimum number of calls; `n` keeps ids apart in one graph. */
function errorRate(name: FunctionName, fn: PlatformFunction, n: number | '' = ''): MathExpression {
  const [errors, calls] = [`errors${n}`, `calls${n}`];
  return new MathExpression({
    expression: `IF(FILL(${calls}, 0) >= ${FUNCTION_ERROR_RATE.minimumCalls}, 100 * FILL(${errors}, 0) / ${calls}, 0)`,
    usingMetrics: {
      [errors]: fn.metricErrors({ statistic: 'Sum' }),
      [calls]: fn.metricInvocations({ statistic: 'Sum' }),
    },
    label: name,
    period: Duration.minutes(5),
  });
}

/** One series per tier (whichever tiers have data), by a search: dashboards only, alarms cannot search. */
function byTier(metricName: string, statistic: string, label: string): MathExpression {
  return new MathExpression({
    expression: `SEARCH('{${NAMESPACE},Tier} MetricName="${metricName}"', '${statistic}', 300)`,
    label,
    period: Duration.minutes(5),
  });
}

/** One series for an outcome, summed over the tiers. */
function sumOverTiers(metricName: string, statistic: string, period: Duration, outcome: string): MathExpression {
  return new MathExpression({
    expression: `SUM(SEARCH('{${NAMESPACE},Outcome,Tier} MetricName="${metricName}" Outcome="${outcome}"', '${statistic}', ${period.toSeconds()}))`,
    label: outcome,
    period,
  });
}

const kebab = (id: string) => id.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
