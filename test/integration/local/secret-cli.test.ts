/**
 * `npm run secret` run as a child process against a local Secrets Manager endpoint: it stores a
 * kubeconfig file or a literal token, replaces the value when run again, prints the ARN, and says
 * what is wrong when its arguments are, or when no local cloud answers.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '../../../infra/local/aws-endpoint.ts';
import { freePort } from '../../../infra/local/ports.ts';
import { createLocalSecrets } from '../../../infra/local/secrets.ts';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const CLI = join(import.meta.dirname, '../../../infra/local/secret.ts');
const folder = mkdtempSync(join(tmpdir(), 'slipway-secret-cli-'));

let endpoint: AwsEndpoint;
let reader: SecretsManagerClient;

beforeAll(async () => {
  const secrets = createLocalSecrets({ region: REGION, accountId: ACCOUNT });
  endpoint = await startAwsEndpoint({ services: { secretsmanager: secrets.service } });
  reader = new SecretsManagerClient({
    endpoint: endpoint.url,
    region: REGION,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
});

afterAll(async () => {
  reader?.destroy();
  await endpoint?.close();
  rmSync(folder, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with this test's Node (asynchronously: the endpoint it calls lives in this process). */
async function secretCli(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { timeout: 15_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

function writeKubeconfig(name: string, token: string): string {
  const path = join(folder, name);
  writeFileSync(path, `apiVersion: v1\nkind: Config\nusers:\n- name: kind\n  user: {token: ${token}}\n`);
  return path;
}

const secretValue = async (SecretId: string, VersionStage = 'AWSCURRENT') =>
  (await reader.send(new GetSecretValueCommand({ SecretId, VersionStage }))).SecretString;

describe('npm run secret', () => {
  it('stores a kubeconfig file and prints its ARN, then replaces the value when run again', async () => {
    const first = writeKubeconfig('first.yaml', 'first-token');
    const created = await secretCli('--name', 'slipway/clusters/kind', '--file', first, '--endpoint', endpoint.url);
    expect(created.code).toBe(0);
    const arn = created.stdout.trim();
    expect(arn).toMatch(
      new RegExp(`^arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:slipway/clusters/kind-[A-Za-z0-9]{6}$`),
    );
    expect(created.stderr).toContain(`"auth": {"mode":"kubeconfig","kubeconfig_secret_arn":"${arn}"}`);
    expect(await secretValue(arn)).toContain('token: first-token');

    const second = writeKubeconfig('second.yaml', 'second-token');
    const replaced = await secretCli('--name', 'slipway/clusters/kind', '--file', second, '--endpoint', endpoint.url);
    expect(replaced).toMatchObject({ code: 0, stdout: `${arn}\n` });
    expect(await secretValue(arn)).toContain('token: second-token');
    expect(await secretValue(arn, 'AWSPREVIOUS')).toContain('token: first-token');
  });

  it('stores a literal token given with --value', async () => {
    const run = await secretCli('--name', 'slipway/clusters/ci', '--value', 'sa-token-123', '--endpoint', endpoint.url);
    expect(run.code).toBe(0);
    const arn = run.stdout.trim();
    expect(await secretValue(arn)).toBe('sa-token-123');
    expect(run.stderr).toContain(`{"mode":"token","token_secret_arn":"${arn}"}`);
  });

  it('prints its usage on --help', async () => {
    const run = await secretCli('--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: npm run -s secret -- --name <name> \(--file <path> \| --value <text>\)/);
  });

  it.each([
    ['no --name', ['--value', 'x'], 'Give --name and exactly one of --file or --value.'],
    ['both --file and --value', ['--name', 'n', '--file', 'f', '--value', 'x'], 'exactly one of --file or --value'],
    ['an unknown option', ['--name', 'n', '--vaule', 'x'], "Unknown option '--vaule'"],
    ['a missing file', ['--name', 'n', '--file', '/nonexistent/kubeconfig'], 'Cannot read /nonexistent/kubeconfig'],
  ])('refuses %s with its usage, storing nothing', async (_case, args, message) => {
    const run = await secretCli(...args, '--endpoint', endpoint.url);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('Usage:');
    await expect(secretValue('n')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('says so when no local cloud answers', async () => {
    const closed = await freePort();
    const run = await secretCli('--name', 'n', '--value', 'x', '--endpoint', `http://127.0.0.1:${closed}`);
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr.trim()).toBe(
      `Nothing answers at http://127.0.0.1:${closed}: is the local cloud running (npm start)?`,
    );
  });
});
