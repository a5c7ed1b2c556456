/**
 * `npm run -s secret -- --name slipway/clusters/kind --file ~/.kube/config [--endpoint http://127.0.0.1:4566]`
 * Stores a secret in the running local cloud's Secrets Manager (creates it, or puts a new current
 * value when it exists) through the real AWS SDK, and prints its ARN: what a cluster registration
 * references as `kubeconfig_secret_arn` (a kubeconfig file) or `token_secret_arn` (`--value <token>`).
 * Build credentials are found by name instead (ADR 18): `slipway/builds/registry/<registry host>`
 * (`--value '{"username":"…","password":"…"}'`) and `slipway/builds/git/<git host>` (`--value <token>`).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

const USAGE = `Usage: npm run -s secret -- --name <name> (--file <path> | --value <text>) [--endpoint <url>]
  --name      the secret's name, e.g. slipway/clusters/kind, or slipway/builds/registry/<host> and
              slipway/builds/git/<host> for the credentials builds use (found by name)
  --file      store this file's content, e.g. a kubeconfig (- reads standard input)
  --value     store this text, e.g. a cluster's bearer token
  --endpoint  the local cloud's AWS endpoint (default http://127.0.0.1:4566)
Prints the secret's ARN.`;

/** Secrets Manager's own limit on a secret's value. */
const MAX_SECRET_BYTES = 65_536;

const args = parsedArgs();

if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!args.name || (args.file === undefined) === (args.value === undefined)) {
  fail('Give --name and exactly one of --file or --value.', 2);
}

const name = args.name as string;
const value = args.value ?? readSource(args.file as string);
if (value.length === 0) fail('The secret value is empty.', 2);
if (Buffer.byteLength(value) > MAX_SECRET_BYTES) fail(`The secret value is over ${MAX_SECRET_BYTES} bytes.`, 2);

// The local cloud checks no signature: fixed credentials keep this from looking up real ones.
const secrets = new SecretsManagerClient({
  endpoint: args.endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 1,
});

try {
  const arn = await store(name, value);
  console.log(arn);
  if (name.startsWith('slipway/builds/')) {
    console.error('Builds find it by its name: nothing to register (registry secrets hold {"username", "password"}).');
  } else {
    const field = args.file === undefined ? 'token_secret_arn' : 'kubeconfig_secret_arn';
    const mode = args.file === undefined ? 'token' : 'kubeconfig';
    console.error(`Register the cluster with "auth": ${JSON.stringify({ mode, [field]: arn })}`);
  }
} catch (error) {
  fail(explain(error), 1);
} finally {
  secrets.destroy();
}

function parsedArgs() {
  try {
    return parseArgs({
      options: {
        name: { type: 'string' },
        file: { type: 'string' },
        value: { type: 'string' },
        endpoint: { type: 'string', default: 'http://127.0.0.1:4566' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    return fail((error as Error).message, 2);
  }
}

/** CreateSecret, or PutSecretValue when the name is taken: running it again replaces the value. */
async function store(secretName: string, secretValue: string): Promise<string> {
  try {
    const created = await secrets.send(new CreateSecretCommand({ Name: secretName, SecretString: secretValue }));
    return created.ARN as string;
  } catch (error) {
    if (!(error instanceof ResourceExistsException)) throw error;
    const put = await secrets.send(new PutSecretValueCommand({ SecretId: secretName, SecretString: secretValue }));
    return put.ARN as string;
  }
}

function readSource(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    return fail(`Cannot read ${path}: ${(error as Error).message}`, 2);
  }
}

function explain(error: unknown): string {
  const code = (error as { code?: unknown; cause?: { code?: unknown } }).code;
  if (code === 'ECONNREFUSED') return `Nothing answers at ${args.endpoint}: is the local cloud running (npm start)?`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function fail(message: string, exitCode: number): never {
  console.error(`${message}\n${exitCode === 2 ? USAGE : ''}`.trimEnd());
  process.exit(exitCode);
}
