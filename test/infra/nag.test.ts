import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { slipwayApp } from './synth.ts';

interface Violation {
  ruleName: string;
  severity: string;
  violatingConstructs: { constructPath: string }[];
}

/**
 * cdk-nag 3 runs as a CDK policy-validation plugin (`-c nag=true`): findings land in
 * validation-report.json and any error fails the synth. A canary stack holding what
 * PlatformFunction avoids (a role with AWSLambdaBasicExecutionRole) proves the checks really ran;
 * every finding must be the canary's.
 */
describe('cdk-nag AwsSolutions checks', () => {
  let app: ReturnType<typeof slipwayApp>;
  let violations: Violation[];
  beforeAll(() => {
    app = slipwayApp({ nag: 'true' });
    const canary = new Stack(app.app, 'Canary');
    new Role(canary, 'BasicExecutionRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')],
    });
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {}); // the CDK prints the report
    try {
      expect(() => app.app.synth()).toThrow(/AwsSolutions-IAM4/);
    } finally {
      quiet.mockRestore();
    }
    const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8'));
    violations = report.pluginReports.flatMap((plugin: { violations: Violation[] }) => plugin.violations);
  });
  afterAll(() => app.cleanup());

  it('run, and flag an AWS managed policy on a function role', () => {
    expect(violations.map((v) => v.ruleName)).toContainEqual(expect.stringMatching(/^AwsSolutions-IAM4\[/));
  });

  it('find nothing unacknowledged in Slipway stacks, neither errors nor warnings', () => {
    const paths = violations.flatMap((v) =>
      v.violatingConstructs.map((c) => `${v.ruleName} (${v.severity}) at ${c.constructPath}`),
    );
    expect(paths.filter((p) => !p.includes(' at Canary/'))).toEqual([]);
  });
});
