/**
 * `npm run token -- --sub alice --groups platform-admins [--name ..] [--email ..] [--ttl 3600]
 *  [--audience slipway] [--scope ".."] [--data-dir .data] [--port 3000]`
 * Prints a JWT signed with the dev issuer's key from the data folder (created if missing, so this
 * may run before the first `npm start`). The issuer contains the port: pass the same --port as
 * the running platform.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createDevIssuer, DEFAULT_AUDIENCE, devIssuerUrl, loadSigningKey } from './dev-issuer.ts';

const USAGE =
  'Usage: npm run -s token -- --sub <id> [--groups a,b] [--name ..] [--email ..] [--ttl seconds] ' +
  '[--audience slipway] [--scope "a b"] [--data-dir .data] [--port 3000]';

const { values: args } = parseArgs({
  options: {
    sub: { type: 'string' },
    groups: { type: 'string', default: '' },
    name: { type: 'string' },
    email: { type: 'string' },
    ttl: { type: 'string', default: '3600' },
    audience: { type: 'string', default: DEFAULT_AUDIENCE },
    scope: { type: 'string' },
    'data-dir': { type: 'string', default: '.data' },
    port: { type: 'string', default: '3000' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help || !args.sub) {
  console.error(USAGE);
  process.exit(args.help ? 0 : 2);
}
const ttlSeconds = Number(args.ttl);
if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
  console.error(`--ttl must be a positive number of seconds\n${USAGE}`);
  process.exit(2);
}

const key = await loadSigningKey(join(args['data-dir'], 'dev-issuer'));
const issuer = createDevIssuer(key, devIssuerUrl(`http://localhost:${args.port}`));
const token = await issuer.mintToken({
  sub: args.sub,
  groups: args.groups
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean),
  ttlSeconds,
  audience: args.audience,
  ...(args.name ? { name: args.name } : {}),
  ...(args.email ? { email: args.email } : {}),
  ...(args.scope ? { scope: args.scope } : {}),
});
console.log(token);
