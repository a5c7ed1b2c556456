/**
 * `npm start`: the platform on this machine.
 *   node infra/local/start.ts [--port 3000] [--data-dir .data] [--in-memory] [--dynamo-port N] [--quiet]
 */
import { parseArgs } from 'node:util';
import { API_BASE, routes } from '../manifest.ts';
import { type LocalCloud, startLocalCloud } from './cloud.ts';

const USAGE = `Usage: npm start -- [--port 3000] [--data-dir .data] [--in-memory] [--dynamo-port N] [--quiet]
  --port         gateway port (0: any free port)
  --data-dir     keeps the database and the dev issuer's key between runs
  --in-memory    keep nothing: a throwaway database and signing key
  --dynamo-port  DynamoDB Local's port (default: any free port)
  --quiet        no access log lines`;

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '3000' },
    'data-dir': { type: 'string', default: '.data' },
    'in-memory': { type: 'boolean', default: false },
    'dynamo-port': { type: 'string' },
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

let cloud: LocalCloud;
try {
  cloud = await startLocalCloud({
    port,
    dataDir: args['data-dir'],
    inMemory: args['in-memory'],
    quiet: args.quiet,
    ...(dynamoPort === undefined ? {} : { dynamoPort }),
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
    cloud.stop().then(
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
