import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { PlatformFunction } from '../../infra/aws/platform-function.ts';
import { createSlipway } from '../../infra/aws/slipway.ts';
import { type FunctionName, functions } from '../../infra/manifest.ts';

export const ISSUER = 'https://login.example.test/';

/** cdk.json's context (feature flags), which the CLI would pass: tests see the same templates. */
export const cdkJsonContext =
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context ?? {};

/**
 * The app as unit tests want it: bundling skipped and no CloudFormation schema validation
 * (measured here: 5 s -> under 2 s), the environment ignored, an issuer configured.
 * Context values are strings, as they arrive from `cdk -c key=value`.
 */
export function slipwayApp(context: Record<string, string> = {}) {
  const outdir = mkdtempSync(join(tmpdir(), 'slipway-cdk-'));
  const app = new App({
    outdir,
    context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [], issuerUrl: ISSUER, ...context },
    builtinCloudFormationValidation: false,
  });
  return { app, outdir, ...createSlipway(app, {}), cleanup: () => rmSync(outdir, { recursive: true, force: true }) };
}

export type SlipwayTestApp = ReturnType<typeof slipwayApp>;

/** A manifest function as synthesized: its stack, that stack's template and its logical id. */
export interface BuiltFunction {
  stack: Stack;
  template: Template;
  logicalId: string;
  fn: PlatformFunction;
}

/** Where each manifest function was built (API functions in the ApiStack, the rest in the DeliveryStack). */
export function builtFunctions(app: SlipwayTestApp): Record<FunctionName, BuiltFunction> {
  const templates = new Map<Stack, Template>();
  const templateOf = (stack: Stack) =>
    templates.get(stack) ?? templates.set(stack, Template.fromStack(stack)).get(stack);
  const built = {} as Record<FunctionName, BuiltFunction>;
  for (const spec of functions) {
    const stack = app.api.functions[spec.name] ? app.api : app.delivery;
    const fn = stack.functions[spec.name];
    const template = templateOf(stack);
    if (!fn || !template) throw new Error(`${spec.name} was built in no stack`);
    built[spec.name] = { stack, template, fn, logicalId: stack.getLogicalId(fn.node.defaultChild as CfnElement) };
  }
  return built;
}

/**
 * How `consumer` refers to `producer`'s value: the value itself in the same stack, otherwise the
 * Fn::ImportValue of the one export whose Value it is.
 */
export function referenceTo(consumer: Stack, producer: Stack, value: unknown): unknown {
  if (consumer === producer) return value;
  const outputs = Object.values(Template.fromStack(producer).findOutputs('*', { Value: value })).filter(
    (o) => o.Export,
  );
  if (outputs.length !== 1) throw new Error(`expected one export of ${JSON.stringify(value)} in ${producer.stackName}`);
  return { 'Fn::ImportValue': outputs[0]?.Export.Name };
}

/** A policy statement with Action and Resource always as lists. */
export interface Statement {
  Effect: string;
  Action: string[];
  Resource: unknown[];
  Condition?: unknown;
}

/** Every identity-policy statement of the role with this logical id. */
export function statementsOfRole(template: Template, roleId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => policy.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
    .map((s) => ({ ...s, Action: [s.Action].flat(), Resource: [s.Resource].flat() }));
}
