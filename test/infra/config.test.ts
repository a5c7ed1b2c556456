import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { apiSettingsFromEnv } from '../../infra/api-settings.ts';
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
      groupsClaim: 'groups',
      groupsDelimiter: undefined,
      deletionProtection: true,
      logLevel: 'INFO',
      throttleRateLimit: 50,
      throttleBurstLimit: 100,
      corsOrigins: [],
      corsAllowCredentials: false,
      quotaWritesPerMinute: 60,
      quotaDeploysPerMinute: 10,
      nag: false,
      clusterSecretPrefix: 'slipway/clusters/',
      clusterRolePattern: 'arn:aws:iam::*:role/slipway-deployer*',
      chatSecretArn: undefined,
      publicUrl: undefined,
      reservedNamespaces: [],
      clusterAllowedNetworks: [],
      cursorKeyVersionId: undefined,
      auditRetentionDays: 365,
      buildClusterId: undefined,
      buildNamespace: 'slipway-builds',
      buildImage: undefined,
      buildSecretPrefix: 'slipway/builds/',
      gitTokenSecretPrefix: 'slipway/git-tokens/',
      gitPrivateHosts: [],
      hookSecretPrefix: 'slipway/hooks/',
      chatAppsSecretName: undefined,
      chatChannelSecretPrefix: 'slipway/chat/channels/',
      chatHosts: [],
      doraRollbackWindowHours: 24,
    });
  });

  it('takes the DORA rollback window from context or the environment, a whole number of hours', () => {
    expect(read({ doraRollbackWindowHours: '72' }).doraRollbackWindowHours).toBe(72);
    expect(read({}, { SLIPWAY_DORA_ROLLBACK_WINDOW_HOURS: '6' }).doraRollbackWindowHours).toBe(6);
    expect(() => read({ doraRollbackWindowHours: '-1' })).toThrow(/doraRollbackWindowHours/);
  });

  it('takes the build settings from context or the environment, and refuses ones no build could use', () => {
    const cluster = 'cls_01jd7wz6xq3v9k2m4n5p6r7s8t';
    expect(
      read({ buildClusterId: cluster, buildNamespace: 'ci', buildImage: 'mirror.example.com/buildkit:v1' }),
    ).toMatchObject({ buildClusterId: cluster, buildNamespace: 'ci', buildImage: 'mirror.example.com/buildkit:v1' });
    expect(read({}, { SLIPWAY_BUILD_CLUSTER_ID: cluster }).buildClusterId).toBe(cluster);
    expect(() => read({ buildClusterId: 'prod-cluster' })).toThrow(/buildClusterId/);
    expect(() => read({ buildNamespace: 'kube-system' })).toThrow(/buildNamespace/);
    expect(() => read({ buildSecretPrefix: 'a b' })).toThrow(/buildSecretPrefix/);
  });

  it('takes the Git provider tokens prefix and private provider hosts, and refuses what is not one', () => {
    expect(read({ gitTokenSecretPrefix: 'team/git/' }).gitTokenSecretPrefix).toBe('team/git/');
    expect(() => read({ gitTokenSecretPrefix: 'a b' })).toThrow(/gitTokenSecretPrefix/);
    expect(read({}, { SLIPWAY_GIT_ALLOW_PRIVATE_HOSTS: 'ghe.corp.example, *.git.corp' }).gitPrivateHosts).toEqual([
      'ghe.corp.example',
      '*.git.corp',
    ]);
    expect(() => read({ gitPrivateHosts: '10.0.0.0/8' })).toThrow(/gitPrivateHosts/);
  });

  it('takes the self-hosted chat hosts project channels may use, and the channel secrets prefix', () => {
    expect(read({}, { SLIPWAY_CHAT_HOSTS: 'chat.corp.example, *.lark.corp' }).chatHosts).toEqual([
      'chat.corp.example',
      '*.lark.corp',
    ]);
    expect(() => read({ chatHosts: 'http://chat.corp.example' })).toThrow(/chatHosts/);
    expect(read({ chatChannelSecretPrefix: 'team/chat/' }).chatChannelSecretPrefix).toBe('team/chat/');
    expect(() => read({ chatChannelSecretPrefix: 'a b' })).toThrow(/chatChannelSecretPrefix/);
    expect(read({ chatAppsSecretName: 'ops/chat-apps' }).chatAppsSecretName).toBe('ops/chat-apps');
    expect(() => read({ chatAppsSecretName: 'a b' })).toThrow(/chatAppsSecretName/);
  });

  it('takes the reserved namespaces as a comma list of namespace names, from context or the environment', () => {
    expect(read({ reservedNamespaces: 'istio-system, monitoring' }).reservedNamespaces).toEqual([
      'istio-system',
      'monitoring',
    ]);
    expect(read({}, { SLIPWAY_RESERVED_NAMESPACES: 'cert-manager' }).reservedNamespaces).toEqual(['cert-manager']);
  });

  it('takes the allowed cluster networks as CIDRs and host names, from context or SLIPWAY_CLUSTER_ALLOWED_NETWORKS', () => {
    const networks = '10.20.0.0/16, fd12:3456::/48, *.eks.amazonaws.com';
    const expected = ['10.20.0.0/16', 'fd12:3456::/48', '*.eks.amazonaws.com'];
    expect(read({ clusterAllowedNetworks: networks }).clusterAllowedNetworks).toEqual(expected);
    expect(read({}, { SLIPWAY_CLUSTER_ALLOWED_NETWORKS: networks }).clusterAllowedNetworks).toEqual(expected);
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

  it('names the groups claim and, only when asked, a delimiter for a groups string', () => {
    expect(read({ groupsClaim: 'cognito:groups' })).toMatchObject({ groupsClaim: 'cognito:groups' });
    expect(read({}, { SLIPWAY_GROUPS_CLAIM: 'roles', SLIPWAY_GROUPS_DELIMITER: ';' })).toMatchObject({
      groupsClaim: 'roles',
      groupsDelimiter: ';',
    });
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

  it('reads the quotas, throttling and CORS settings the local cloud reads, under the same variables', () => {
    const env = {
      SLIPWAY_QUOTA_WRITES_PER_MINUTE: '120',
      SLIPWAY_QUOTA_DEPLOYS_PER_MINUTE: '3',
      SLIPWAY_THROTTLE_RATE_LIMIT: '20',
      SLIPWAY_THROTTLE_BURST_LIMIT: '40',
      SLIPWAY_CORS_ORIGINS: 'https://console.example.test,http://localhost:5173',
      SLIPWAY_CORS_ALLOW_CREDENTIALS: 'true',
    };
    const expected = {
      quotaWritesPerMinute: 120,
      quotaDeploysPerMinute: 3,
      throttleRateLimit: 20,
      throttleBurstLimit: 40,
      corsOrigins: ['https://console.example.test', 'http://localhost:5173'],
      corsAllowCredentials: true,
    };
    expect(read({}, env)).toMatchObject(expected);
    expect(apiSettingsFromEnv(env)).toEqual(expected);
    expect(read({ quotaDeploysPerMinute: '5' }, env).quotaDeploysPerMinute).toBe(5);
  });

  it('defaults the local cloud to the same limits as AWS', () => {
    const { stage: _s, ...aws } = read();
    expect(aws).toMatchObject(apiSettingsFromEnv({}));
  });

  it.each([
    [{ issuerUrl: 'http://idp.example.test/' }, /https URL/],
    [{ stage: 'Prod_1' }, /Stage "Prod_1"/],
    [{ deletionProtection: 'no' }, /true or false/],
    [{ throttleBurstLimit: '-5' }, /positive integer/],
    [{ quotaWritesPerMinute: '0' }, /positive integer/],
    [{ quotaDeploysPerMinute: '2.5' }, /positive integer/],
    // A trailing slash or a path never equals a browser's Origin header.
    [{ corsOrigins: 'https://console.example.test/' }, /not an origin/],
    [{ corsOrigins: 'console.example.test' }, /not an origin/],
    // Browsers refuse credentials with `*`, and API Gateway refuses the configuration.
    [{ corsOrigins: '*', corsAllowCredentials: 'true' }, /cannot be true while corsOrigins allows every origin/],
    [{ corsAllowCredentials: 'yes' }, /true or false/],
    // A role pattern without a literal name prefix would let the deployer become any role.
    [{ clusterRolePattern: 'arn:aws:iam::*:role/*' }, /literal name prefix/],
    [{ clusterRolePattern: '*' }, /literal name prefix/],
    [{ clusterSecretPrefix: 'a b' }, /secret name prefix/],
    // A partial ARN (no -XXXXXX suffix) would not match the secret in IAM.
    [{ chatSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slipway/chat' }, /complete ARN/],
    [{ reservedNamespaces: 'monitoring,Kube_System' }, /namespace names, got "Kube_System"/],
    // A typo must fail the synth, not every cluster registration afterwards.
    [{ clusterAllowedNetworks: '10.0.0.0/33' }, /SLIPWAY_CLUSTER_ALLOWED_NETWORKS: "10.0.0.0\/33"/],
    [{ cursorKeyVersionId: 'AWSCURRENT' }, /VersionId/],
  ])('refuses %o', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });
});
