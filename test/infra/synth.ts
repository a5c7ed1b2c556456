import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { createSlipway } from '../../infra/aws/slipway.ts';

export const ISSUER = 'https://login.example.test/';

/** cdk.json's context (feature flags), which the CLI would pass: tests see the same templates. */
export const cdkJsonContext =
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context ?? {};

/**
 * The app as unit tests want it: bundling skipped and no CloudFormation schema validation
 * (NOTES.md: 5 s -> under 2 s), the environment ignored, an issuer configured.
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
