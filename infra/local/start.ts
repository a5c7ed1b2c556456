/**
 * `npm start`: the platform on this machine.
 *   node infra/local/start.ts [--port 3000] [--data-dir .data] [--in-memory] [--dynamo-port N] [--kube-port 6443]
 *                             [--aws-port 4566] [--chat channels.json] [--quiet]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ALLOWED_LOOPBACK_ENV } from '../../shared/net/cluster-egress.ts';
import { API_BASE, routes } from '../manifest.ts';
import { type ChatReceiver, receiverChannels, startChatReceiver } from './chat-receiver.ts';
import { type LocalCloud, startLocalCloud } from './cloud.ts';

const USAGE = `Usage: npm start -- [--port 3000] [--data-dir .data] [--in-memory] [--dynamo-port N] [--kube-port 6443]
                        [--aws-port 4566] [--chat channels.json] [--quiet]
  --port         gateway port (0: any free port)
  --data-dir     keeps the database, the dev issuer's key, executions and the simulated cluster between runs
  --in-memory    keep nothing: a throwaway database and signing key
  --dynamo-port  DynamoDB Local's port (default: any free port)
  --kube-port    the simulated Kubernetes cluster's port (default 6443; a registered cluster keeps its URL)
  --aws-port     Step Functions, EventBridge, Secrets Manager, KMS and S3 endpoint (default 4566, as LocalStack)
  --chat         chat channels (shared/notify/config.ts format); default: print messages here
  --quiet        no access log lines`;

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '3000' },
    'data-dir': { type: 'string', default: '.data' },
    'in-memory': { type: 'boolean', default: false },
    'dynamo-port': { type: 'string' },
    'kube-port': { type: 'string', default: '6443' },
    'aws-port': { type: 'string', default: '4566' },
    chat: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const port = portNumber(args.port, '--port');
const dynamoPort = args['dynamo-port'] === undefined ? undefined : portNumber(args['dynamo-port'], '--dynamo-port');

const kubePort = portNumber(args['kube-port'], '--kube-port');
const awsPort = portNumber(args['aws-port'], '--aws-port');

let cloud: LocalCloud;
let receiver: ChatReceiver | undefined;
try {
  receiver = args.chat ? undefined : await startChatReceiver((line) => console.log(line));
  const chat = args.chat ? (JSON.parse(readFileSync(args.chat, 'utf8')) as Record<string, unknown>) : undefined;
  cloud = await startLocalCloud({
    port,
    dataDir: args['data-dir'],
    inMemory: args['in-memory'],
    quiet: args.quiet,
    ...(dynamoPort === undefined ? {} : { dynamoPort }),
    kubernetes: { port: kubePort },
    // A cluster of your own on loopback (kind): allowed by its exact address, as the simulator is.
    clusterLoopback: process.env[ALLOWED_LOOPBACK_ENV]?.split(',') ?? [],
    awsPort,
    chat: chat ?? receiverChannels(receiver as ChatReceiver),
    // The receiver plays the platforms' bot APIs with these apps: approval cards show up there too.
    ...(receiver ? { chatApps: { ...receiver.apps } } : {}),
  });
} catch (error) {
  console.error(`Slipway local cloud did not start: ${(error as Error).message}`);
  process.exit(1);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130); // a second Ctrl-C: don't wait
    stopping = true;
    console.error('\nStopping…');
    Promise.all([cloud.stop(), receiver?.close()]).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}

console.log(await banner(cloud));

async function banner(c: LocalCloud): Promise<string> {
  const publicRoute = (suffix: string) => routes.find((r) => r.public && r.path.endsWith(suffix))?.path ?? suffix;
  const tokenArgs = [
    port === 3000 ? '' : ` --port ${new URL(c.url).port}`,
    args['data-dir'] === '.data' ? '' : ` --data-dir ${args['data-dir']}`,
  ].join('');
  const howToGetAToken = c.dataDir
    ? [
        `  npm run token -- --sub alice --groups platform-admins${tokenArgs}`,
        `  curl -H "Authorization: Bearer $(npm run -s token -- --sub alice --groups platform-admins${tokenArgs})" ${c.url}${API_BASE}/projects`,
      ]
    : [
        // `npm run token` reads the key from the data folder; an in-memory run has none, so hand one out.
        "  (in memory: `npm run token` cannot read this run's key; a platform admin token valid 12 h:)",
        `  ${await c.mintToken({ sub: 'dev-admin', name: 'Dev Admin', groups: ['platform-admins'], ttlSeconds: 12 * 3600 })}`,
      ];
  return [
    '',
    'Slipway local cloud is running',
    `  API       ${c.url}${API_BASE}`,
    `  Health    ${c.url}${publicRoute('/health')}`,
    `  OpenAPI   ${c.url}${publicRoute('/openapi.json')}`,
    `  Docs      ${c.url}${publicRoute('/docs')}`,
    `  Issuer    ${c.issuer}  (development OIDC issuer; audience "slipway")`,
    `  DynamoDB  ${c.dynamoEndpoint}  table "${c.tableName}"`,
    `  Data      ${c.dataDir ?? 'in memory: everything is gone when this stops'}`,
    `  AWS       ${c.services.endpoint.url}  (Step Functions, EventBridge, Scheduler, Secrets Manager, KMS, S3)`,
    `  Chat      ${args.chat ? args.chat : `messages and approval cards are printed here (chat ▸ …); ${receiver?.url}/_messages`}`,
    `  Git       ${c.services.git.url}  (GitHub and GitLab commit statuses, printed here as git ▸ …; GET /_local/git/statuses?sha=)`,
    '',
    'Simulated Kubernetes cluster (a simulator of the API server, no pods run):',
    `  API       ${c.services.kubernetes.url}${c.services.kubernetes.kubeconfigPath ? `  kubeconfig ${c.services.kubernetes.kubeconfigPath}` : ''}`,
    '  Register it as a cluster with this body (POST /api/v1/clusters):',
    `  ${JSON.stringify({
      name: 'local-simulator',
      region: 'us-east-1',
      api_server_url: c.services.kubernetes.url,
      ca_data: c.services.kubernetes.caData,
      auth: { mode: 'token', token_secret_arn: c.services.kubernetes.tokenSecretArn },
    })}`,
    '',
    'Get a token:',
    ...howToGetAToken,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}

function portNumber(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    console.error(`${flag} must be a port number, got "${text}"\n${USAGE}`);
    process.exit(2);
  }
  return value;
}
