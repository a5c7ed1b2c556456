import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../infra/aws/config.ts';

const outdir = mkdtempSync(join(tmpdir(), 'slipway-cdk-')); // every App claims one, even unsynthesized
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const read = (context: Record<string, unknown> = {}, env: Record<string, string> = {}) =>
  readConfig(new App({ context, outdir }).node, env);

describe('readConfig', () => {
  it('synthesizes a protected dev stage with no settings at all, leaving the issuer to deploy time', () => {
    expect(read()).toEqual({
      stage: 'dev',
      issuerUrl: undefined,
      audience: 'slipway',
      adminGroups: 'platform-admins',
      deletionProtection: true,
      logLevel: 'INFO',
      throttleRateLimit: 50,
      throttleBurstLimit: 100,
      corsOrigins: [],
      nag: false,
      clusterSecretPrefix: 'slipway/clusters/',
      clusterRolePattern: 'arn:aws:iam::*:role/slipway-deployer*',
      chatSecretArn: undefined,
      publicUrl: undefined,
      auditRetentionDays: 365,
    });
  });

  it('takes the audit checkpoints’ retention in days, refusing more than S3 Object Lock allows', () => {
    expect(read({ auditRetentionDays: '2555' }).auditRetentionDays).toBe(2555);
    expect(() => read({ auditRetentionDays: '0' })).toThrow(/positive integer/);
    expect(() => read({ auditRetentionDays: '36501' })).toThrow(/at most 36500/);
  });

  it('takes the public URL chat links point at as an https origin', () => {
    expect(read({ publicUrl: 'https://deploy.example.test/' }).publicUrl).toBe('https://deploy.example.test');
    expect(() => read({ publicUrl: 'http://deploy.example.test' })).toThrow(/https origin/);
    expect(() => read({ publicUrl: 'https://deploy.example.test/api' })).toThrow(/https origin/);
  });

  it('reads CLI context strings (-c key=value) as booleans, numbers and lists', () => {
    const config = read({
      deletionProtection: 'false',
      nag: 'true',
      throttleRateLimit: '20',
      corsOrigins: 'https://a.example.test, https://b.example.test',
      logLevel: 'debug',
    });
    expect(config).toMatchObject({
      deletionProtection: false,
      nag: true,
      throttleRateLimit: 20,
      corsOrigins: ['https://a.example.test', 'https://b.example.test'],
      logLevel: 'DEBUG',
    });
  });

  it('falls back to SLIPWAY_* environment variables, context winning over them', () => {
    const env = { SLIPWAY_ISSUER_URL: 'https://idp.example.test/', SLIPWAY_STAGE: 'ci', SLIPWAY_ADMIN_GROUPS: 'ops' };
    expect(read({}, env)).toMatchObject({ issuerUrl: 'https://idp.example.test/', stage: 'ci', adminGroups: 'ops' });
    expect(read({ stage: 'prod' }, env).stage).toBe('prod');
  });

  it.each([
    [{ issuerUrl: 'http://idp.example.test/' }, /https URL/],
    [{ stage: 'Prod_1' }, /Stage "Prod_1"/],
    [{ deletionProtection: 'no' }, /true or false/],
    [{ throttleBurstLimit: '-5' }, /positive integer/],
    // A role pattern without a literal name prefix would let the deployer become any role.
    [{ clusterRolePattern: 'arn:aws:iam::*:role/*' }, /literal name prefix/],
    [{ clusterRolePattern: '*' }, /literal name prefix/],
    [{ clusterSecretPrefix: 'a b' }, /secret name prefix/],
    // A partial ARN (no -XXXXXX suffix) would not match the secret in IAM.
    [{ chatSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slipway/chat' }, /complete ARN/],
  ])('refuses %o', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });
});
