/**
 * A registered kubeconfig lends Slipway its user's credentials only: inline certificates, a
 * token, or a username and password. Commands, plugins, files, impersonation and unknown
 * contexts are refused by name; the server and CA always stay those of the cluster record.
 */
import type { RequestOptions } from 'node:https';
import { describe, expect, it } from 'vitest';
import { ClusterConfigInvalid, kubeConfigFor, userFromKubeconfig } from '../../../shared/k8s/kubeconfig.ts';

const pem = (label: string, body: string) =>
  Buffer.from(`-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`).toString('base64');
const certData = pem('CERTIFICATE', 'Y2xpZW50');
const keyData = pem('EC PRIVATE KEY', 'a2V5');
const recordCa = pem('CERTIFICATE', 'cmVjb3JkLWNh');

/** A kubeconfig with the given users (name → user fields), a context per user, and `current` current. */
function kubeconfig(users: Record<string, Record<string, unknown>>, current = Object.keys(users)[0]) {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'elsewhere', cluster: { server: 'https://attacker.example', 'insecure-skip-tls-verify': true } },
    ],
    users: Object.entries(users).map(([name, user]) => ({ name, user })),
    contexts: Object.keys(users).map((name) => ({
      name: `ctx-${name}`,
      context: { cluster: 'elsewhere', user: name },
    })),
    'current-context': `ctx-${current}`,
  });
}

const authorization = (options: RequestOptions) =>
  (options.headers as Record<string, string> | undefined)?.Authorization;

function refusal(text: string, context?: string): ClusterConfigInvalid {
  try {
    userFromKubeconfig(text, context);
  } catch (error) {
    if (error instanceof ClusterConfigInvalid) return error;
    throw error;
  }
  throw new Error('expected the kubeconfig to be refused');
}

describe('the user credentials of a kubeconfig', () => {
  it('are a client certificate and key, as kind and k3s write them', () => {
    const user = userFromKubeconfig(
      kubeconfig({ 'kind-dev': { 'client-certificate-data': certData, 'client-key-data': keyData } }),
    );
    expect(user).toEqual({ certData, keyData });
  });

  it('are a bearer token', () => {
    expect(userFromKubeconfig(kubeconfig({ ci: { token: 'sa-token' } }))).toEqual({ token: 'sa-token' });
  });

  it('are a username and password (basic auth)', () => {
    expect(userFromKubeconfig(kubeconfig({ admin: { username: 'admin', password: 's3cret' } }))).toEqual({
      username: 'admin',
      password: 's3cret',
    });
  });

  it('come from the registered context when one is given, else from the current context, in YAML too', () => {
    const yaml = [
      'apiVersion: v1',
      'kind: Config',
      'current-context: dev',
      'contexts:',
      '- name: dev',
      '  context: {cluster: c, user: dev-user}',
      '- name: prod',
      '  context: {cluster: c, user: prod-user}',
      'users:',
      '- name: dev-user',
      '  user: {token: dev-token}',
      '- name: prod-user',
      '  user: {token: prod-token}',
    ].join('\n');
    expect(userFromKubeconfig(yaml)).toEqual({ token: 'dev-token' });
    expect(userFromKubeconfig(yaml, 'prod')).toEqual({ token: 'prod-token' });
  });

  it('ignore other users that Slipway could not use', () => {
    const text = kubeconfig({ ci: { token: 'sa-token' }, eks: { exec: { command: 'aws' } } }, 'ci');
    expect(userFromKubeconfig(text)).toEqual({ token: 'sa-token' });
  });
});

describe('a kubeconfig Slipway cannot use is refused by name', () => {
  it.each([
    ['exec', { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws', args: ['eks', 'get-token'] } }],
    ['auth-provider', { 'auth-provider': { name: 'oidc', config: { 'id-token': 'x' } } }],
    ['client-certificate', { 'client-certificate': '/home/me/.minikube/client.crt', 'client-key-data': keyData }],
    ['client-key', { 'client-certificate-data': certData, 'client-key': '/home/me/.minikube/client.key' }],
    ['tokenFile', { tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' }],
    ['token-file', { 'token-file': '/proc/self/environ' }],
    ['as', { token: 't', as: 'system:admin' }],
    ['as-groups', { token: 't', 'as-groups': ['system:masters'] }],
  ])('a user with %s', (field, user) => {
    const error = refusal(kubeconfig({ dev: user }));
    expect(error.name).toBe('ClusterConfigInvalid');
    expect(error.message).toContain(`the kubeconfig user "dev" `);
    expect(error.message).toContain(`(${field})`);
  });

  it('an unknown context', () => {
    const error = refusal(kubeconfig({ dev: { token: 't' } }), 'prod');
    expect(error.message).toBe('the kubeconfig has no context "prod"');
  });

  it('a context whose user is missing, or no current context', () => {
    const text = JSON.parse(kubeconfig({ dev: { token: 't' } }));
    expect(refusal(JSON.stringify({ ...text, users: [] })).message).toBe('the kubeconfig has no user "dev"');
    expect(refusal(JSON.stringify({ ...text, 'current-context': '' })).message).toBe(
      'the kubeconfig has no current-context and none was registered',
    );
  });

  it('a user with no credentials, half a certificate, or a certificate that is not PEM', () => {
    expect(refusal(kubeconfig({ dev: {} })).message).toMatch(/^the kubeconfig user "dev" has no credentials/);
    expect(refusal(kubeconfig({ dev: { 'client-certificate-data': certData } })).message).toBe(
      'the kubeconfig user "dev" needs both client-certificate-data and client-key-data',
    );
    expect(refusal(kubeconfig({ dev: { username: 'admin' } })).message).toBe(
      'the kubeconfig user "dev" needs both username and password',
    );
    expect(
      refusal(kubeconfig({ dev: { 'client-certificate-data': 'bm90IHBlbQ==', 'client-key-data': keyData } })).message,
    ).toBe('the kubeconfig user "dev" has a client-certificate-data that is not base64 of PEM');
  });

  it('a secret that is not a kubeconfig, without quoting it (it holds credentials)', () => {
    const broken = 'users:\n- name: dev\n  user: {token: super-secret-token\ncontexts: [';
    const error = refusal(broken);
    expect(error.message).toMatch(/^the kubeconfig secret is not YAML or JSON \(line \d+\)$/);
    expect(error.message).not.toContain('super-secret');
    expect(refusal('').message).toBe('the kubeconfig secret is empty');
    expect(refusal('{"token": "abc"}').message).toBe(
      'the kubeconfig secret is not a kubeconfig (it needs users and contexts)',
    );
  });
});

describe('the KubeConfig Slipway builds', () => {
  const record = { name: 'kind-dev', api_server_url: 'https://10.0.0.5:6443', ca_data: recordCa };

  it('points at the record’s server and trusts the record’s CA, whatever the kubeconfig said', async () => {
    const user = userFromKubeconfig(
      kubeconfig({ dev: { 'client-certificate-data': certData, 'client-key-data': keyData } }),
    );
    const kubeConfig = kubeConfigFor(record, user);
    expect(kubeConfig.getCurrentCluster()).toMatchObject({ server: record.api_server_url, skipTLSVerify: false });

    const options: RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(options);
    expect(String(options.ca)).toBe(Buffer.from(recordCa, 'base64').toString());
    expect(String(options.cert)).toBe(Buffer.from(certData, 'base64').toString());
    expect(String(options.key)).toBe(Buffer.from(keyData, 'base64').toString());
    expect(options.rejectUnauthorized).toBeUndefined();
    expect(authorization(options)).toBeUndefined();
  });

  it('sends a token as a bearer, and a username and password as basic auth', async () => {
    const bearer: RequestOptions = {};
    await kubeConfigFor(record, { token: 'sa-token' }).applyToHTTPSOptions(bearer);
    expect(authorization(bearer)).toBe('Bearer sa-token');

    const basic: RequestOptions = {};
    await kubeConfigFor(record, { username: 'admin', password: 's3cret' }).applyToHTTPSOptions(basic);
    expect(basic.auth).toBe('admin:s3cret');
  });
});
