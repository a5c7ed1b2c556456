import { describe, expect, it } from 'vitest';
import { createTableInput, javaMajorVersion } from '../../../infra/local/dynamodb.ts';

describe('Java version check', () => {
  it('reads the major version of old and new version strings', () => {
    expect(javaMajorVersion('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(javaMajorVersion('openjdk version "21" 2023-09-19')).toBe(21);
    expect(javaMajorVersion('java version "1.8.0_381"')).toBe(8);
    expect(javaMajorVersion('command not found')).toBeUndefined();
  });
});

describe('table definition', () => {
  it('follows tableSchema: string keys, on demand, both GSIs projecting everything', () => {
    const input = createTableInput('slipway');
    expect(input.BillingMode).toBe('PAY_PER_REQUEST');
    expect(input.KeySchema).toEqual([
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ]);
    expect(input.AttributeDefinitions?.map((a) => `${a.AttributeName}:${a.AttributeType}`)).toEqual([
      'PK:S',
      'SK:S',
      'GSI1PK:S',
      'GSI1SK:S',
      'GSI2PK:S',
      'GSI2SK:S',
    ]);
    expect(input.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.Projection?.ProjectionType])).toEqual([
      ['GSI1', 'ALL'],
      ['GSI2', 'ALL'],
    ]);
  });
});
