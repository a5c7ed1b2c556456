import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformFunction } from '../../infra/aws/platform-function.ts';
import { cdkJsonContext } from './synth.ts';

/** The one test that really bundles (esbuild, ~1 s): a fixture handler with a CommonJS dependency. */
describe('PlatformFunction', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'slipway-cdk-'));
  let template: Template;
  let fnId: string;
  beforeAll(() => {
    const context = { ...cdkJsonContext, 'aws:cdk:enable-asset-metadata': true }; // records where the bundle landed
    const stack = new Stack(new App({ outdir, context, builtinCloudFormationValidation: false }), 'Fixture');
    const fn = new PlatformFunction(stack, 'Fixture', {
      entry: fileURLToPath(new URL('fixtures/handler.ts', import.meta.url)),
      description: 'fixture',
      memoryMb: 128,
      timeoutSeconds: 3,
      logLevel: 'DEBUG',
    });
    fn.bindTable({
      table: new TableV2(stack, 'Table', { partitionKey: { name: 'PK', type: AttributeType.STRING } }),
      access: 'read',
    });
    template = Template.fromStack(stack);
    fnId = stack.getLogicalId(fn.node.defaultChild as CfnElement);
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  const bundleDir = () => join(outdir, template.toJSON().Resources[fnId].Metadata['aws:asset:path']);

  it('bundles to minified ESM with a source map whose sources are not inlined', () => {
    const code = readFileSync(join(bundleDir(), 'index.mjs'), 'utf8');
    expect(code.split('\n').length).toBeLessThan(10);
    const map = JSON.parse(readFileSync(join(bundleDir(), 'index.mjs.map'), 'utf8'));
    expect(map.sources.some((source: string) => source.endsWith('fixtures/legacy.cjs'))).toBe(true);
    expect(map.sourcesContent).toBeUndefined();
  });

  it('runs as an ES module on Node even though a dependency calls require()', () => {
    const url = pathToFileURL(join(bundleDir(), 'index.mjs')).href;
    const script = `const { handler } = await import(${JSON.stringify(url)}); console.log(JSON.stringify(await handler()));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ statusCode: 200, body: JSON.stringify({ platform: process.platform }) });
  });

  it('grants read access without any write action', () => {
    const actions = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .flatMap((statement) => [statement.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']));
    expect(actions.filter((a) => /^dynamodb:.*(Put|Update|Delete|Write)/.test(a))).toEqual([]);
  });
});
