import { type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ApiStack } from './api-stack.ts';
import { readConfig } from './config.ts';
import { DataStack } from './data-stack.ts';

/**
 * Adds Slipway's stacks to an app: the stateful DataStack, then the stateless ApiStack that uses
 * its table. Tests call this with their own App and context; `app.ts` calls it for the CLI.
 */
export function createSlipway(app: App, env: NodeJS.ProcessEnv = process.env) {
  const config = readConfig(app.node, env);
  const prefix = `Slipway-${config.stage}`;
  // Environment-agnostic stacks (no account/region, no lookups): the same template everywhere.
  const data = new DataStack(app, `${prefix}-Data`, {
    description: 'Slipway: the table (stateful)',
    deletionProtection: config.deletionProtection,
  });
  const api = new ApiStack(app, `${prefix}-Api`, {
    description: 'Slipway: HTTP API and functions (stateless)',
    table: data.table,
    config,
  });
  // Cost allocation and ownership in the console, per stage.
  Tags.of(app).add('project', 'slipway');
  Tags.of(app).add('stage', config.stage);
  // cdk-nag 3 is a policy validation plugin: it reads the synthesized templates.
  if (config.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { config, data, api };
}
