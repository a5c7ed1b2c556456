import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataStack } from '../../infra/aws/data-stack.ts';
import { tableSchema } from '../../shared/store/table-schema.ts';
import { cdkJsonContext } from './synth.ts';

const outdir = mkdtempSync(join(tmpdir(), 'slipway-cdk-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const synthTable = (deletionProtection: boolean) => {
  const app = new App({ context: cdkJsonContext, outdir: join(outdir, `protected-${deletionProtection}`) });
  const template = Template.fromStack(new DataStack(app, 'Data', { deletionProtection }));
  const [table] = Object.values(template.findResources('AWS::DynamoDB::GlobalTable'));
  if (!table) throw new Error('no table in DataStack');
  return table;
};

describe('DataStack', () => {
  let table: ReturnType<typeof synthTable>;
  let props: typeof table.Properties;
  beforeAll(() => {
    table = synthTable(true);
    props = table.Properties;
  });

  it('keys the table and both GSIs as table-schema.ts says, all strings', () => {
    expect(props.KeySchema).toEqual([
      { AttributeName: tableSchema.partitionKey, KeyType: 'HASH' },
      { AttributeName: tableSchema.sortKey, KeyType: 'RANGE' },
    ]);
    expect(props.GlobalSecondaryIndexes).toEqual(
      tableSchema.globalSecondaryIndexes.map((gsi) => ({
        IndexName: gsi.indexName,
        KeySchema: [
          { AttributeName: gsi.partitionKey, KeyType: 'HASH' },
          { AttributeName: gsi.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    );
    for (const attribute of props.AttributeDefinitions) expect(attribute.AttributeType).toBe('S');
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('streams new images, which feed the event publisher', () => {
    expect(props.StreamSpecification).toEqual({ StreamViewType: 'NEW_IMAGE' });
  });

  it('expires items by the TTL attribute', () => {
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: tableSchema.timeToLiveAttribute, Enabled: true });
  });

  it('keeps point-in-time recovery on, is protected from deletion and outlives its stack', () => {
    expect(props.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(props.Replicas[0].DeletionProtectionEnabled).toBe(true);
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  it('goes with its stack when deletion protection is off (dev stages)', () => {
    const dev = synthTable(false);
    expect(dev.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
    expect(dev.DeletionPolicy).toBe('Delete');
    expect(dev.Properties.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });
});
