import { type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ApiStack } from './api-stack.ts';
import { readConfig } from './config.ts';
import { DataStack } from './data-stack.ts';
import { DeliveryStack } from './delivery-stack.ts';
import { ObservabilityStack } from './observability-stack.ts';

/**
 * Adds Slipway's stacks to an app: the stateful DataStack; the DeliveryStack (state machines,
 * bus, rules, stream) that uses its table; the ApiStack that uses both; the ObservabilityStack
 * (dashboard, alarms) that watches them. Tests call this with
 * their own App and context; `app.ts` calls it for the CLI.
 */
export function createSlipway(app: App, env: NodeJS.ProcessEnv = process.env) {
  const config = readConfig(app.node, env);
  const prefix = `Slipway-${config.stage}`;
  // Environment-agnostic stacks (no account/region, no lookups): the same template everywhere.
  const data = new DataStack(app, `${prefix}-Data`, {
    description: 'Slipway: the table, the audit checkpoints key and bucket (stateful)',
    deletionProtection: config.deletionProtection,
    stage: config.stage,
    auditRetentionDays: config.auditRetentionDays,
  });
  const delivery = new DeliveryStack(app, `${prefix}-Delivery`, {
    description: 'Slipway: deploy and rollback workflows, event bus, rules, schedules and stream (stateless)',
    table: data.table,
    auditCheckpoints: data.auditCheckpoints,
    config,
  });
  const api = new ApiStack(app, `${prefix}-Api`, {
    description: 'Slipway: HTTP API and functions (stateless)',
    table: data.table,
    reach: { ...delivery.reach, auditCheckpoints: data.auditCheckpoints },
    config,
  });
  const observability = new ObservabilityStack(app, `${prefix}-Observability`, {
    description: 'Slipway: the dashboard and the alarms (sent to chat through the alarm topic)',
    config,
    functions: { ...delivery.functions, ...api.functions },
    workflows: delivery.workflows,
    deadLetterQueues: delivery.deadLetterQueues,
    alarmTopic: delivery.alarmTopic,
  });
  // Cost allocation and ownership in the console, per stage.
  Tags.of(app).add('project', 'slipway');
  Tags.of(app).add('stage', config.stage);
  // cdk-nag 3 is a policy validation plugin: it reads the synthesized templates.
  if (config.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { config, data, delivery, api, observability };
}
