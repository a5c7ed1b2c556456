/**
 * `npm run -s hook -- --app <app_id> [--ref main] [--sha <40 hex>] [--files a,b] [--hook <hook_id> --secret <secret>]
 *  [--port 3000] [--data-dir .data]`
 * Sends a push to an app's GitHub webhook endpoint exactly as GitHub would: the push payload shaped
 * like GitHub's documented example for the app's repository, `X-GitHub-Event: push`, a fresh
 * `X-GitHub-Delivery` and `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the endpoint's
 * secret). Without --hook and --secret it creates an endpoint through the API with a dev admin token
 * (minted like `npm run token`) and prints its id and secret, to reuse.
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createDevIssuer, devIssuerUrl, loadSigningKey } from './dev-issuer.ts';

const USAGE = `Usage: npm run -s hook -- --app <app_id> [--ref main] [--sha <40 hex>] [--files a,b]
                        [--hook <hook_id> --secret <secret>] [--port 3000] [--data-dir .data]
  --app       the application whose repository pushed
  --ref       branch (main), or a full ref: refs/heads/main, refs/tags/v1.0.0 (default main)
  --sha       the pushed commit (default: a random one; the simulated builder builds any)
  --files     changed files, comma-separated, for pipelines with path filters (default README.md)
  --hook      the webhook endpoint's id and its secret; without them an endpoint is created and printed
  --secret
  --port      the local cloud's gateway port (default 3000)
  --data-dir  its data folder, whose dev issuer key signs the admin token (default .data)`;

const { values: args } = parseArgs({
  options: {
    app: { type: 'string' },
    ref: { type: 'string', default: 'main' },
    sha: { type: 'string' },
    files: { type: 'string', default: 'README.md' },
    hook: { type: 'string' },
    secret: { type: 'string' },
    port: { type: 'string', default: '3000' },
    'data-dir': { type: 'string', default: '.data' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!args.app || (args.hook === undefined) !== (args.secret === undefined)) {
  fail('Give --app, and --hook with --secret or neither.', 2);
}
const sha = args.sha ?? randomBytes(20).toString('hex');
if (!/^[0-9a-f]{40}$/.test(sha)) fail('--sha must be a full 40-character commit SHA in lowercase hex', 2);

const base = `http://localhost:${args.port}`;
const issuer = createDevIssuer(await loadSigningKey(join(args['data-dir'], 'dev-issuer')), devIssuerUrl(base));
const token = await issuer.mintToken({ sub: 'dev-admin', name: 'Dev Admin', groups: ['platform-admins'] });

const app = await call('GET', `/api/v1/apps/${args.app}`, undefined, 200);
const repository = app.repository as { provider: string; url: string; default_branch: string };
if (repository.provider !== 'github')
  fail(`The app's repository is on ${repository.provider}: this sends GitHub pushes`);

const endpoint = args.hook
  ? { id: args.hook, secret: args.secret as string }
  : ((await call('POST', `/api/v1/apps/${args.app}/webhooks`, { provider: 'github' }, 201)) as {
      id: string;
      secret: string;
    });
if (!args.hook)
  console.error(
    `Created webhook endpoint ${endpoint.id}; reuse it with --hook ${endpoint.id} --secret ${endpoint.secret}`,
  );

const body = JSON.stringify(pushPayload(repository, args.ref, sha, args.files.split(',').filter(Boolean)));
const delivery = randomUUID();
const response = await fetch(`${base}/api/v1/hooks/github/${endpoint.id}`, {
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/slipway-local',
    'x-github-event': 'push',
    'x-github-delivery': delivery,
    'x-github-hook-id': endpoint.id,
    'x-hub-signature-256': `sha256=${createHmac('sha256', endpoint.secret).update(body).digest('hex')}`,
  },
  body,
});
console.log(`push ${fullRef(args.ref)} ${sha} (delivery ${delivery}) → HTTP ${response.status}`);
console.log(await response.text());
process.exit(response.ok ? 0 : 1);

/** GitHub's push payload (docs: webhook events, `push`), trimmed to what a receiver reads. */
function pushPayload(repo: { url: string; default_branch: string }, ref: string, commit: string, files: string[]) {
  const path = new URL(repo.url).pathname.replace(/^\/|\.git$/g, '');
  const [owner = 'owner', name = 'repository'] = path.split('/');
  const htmlUrl = `https://${new URL(repo.url).host}/${path}`;
  const now = new Date().toISOString();
  const author = { name: 'Dev Admin', email: 'dev-admin@example.com', username: 'dev-admin' };
  const headCommit = {
    id: commit,
    tree_id: randomBytes(20).toString('hex'),
    distinct: true,
    message: 'A push sent by npm run hook',
    timestamp: now,
    url: `${htmlUrl}/commit/${commit}`,
    author,
    committer: author,
    added: [],
    removed: [],
    modified: files,
  };
  return {
    ref: fullRef(ref),
    before: '0'.repeat(40),
    after: commit,
    created: false,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `${htmlUrl}/compare/${commit}`,
    commits: [headCommit],
    head_commit: headCommit,
    repository: {
      // GitHub's numeric id: made up, but the same for a repository on every run (the endpoint may be bound to it).
      id: Number.parseInt(createHash('sha256').update(path).digest('hex').slice(0, 8), 16),
      name,
      full_name: `${owner}/${name}`,
      private: true,
      owner: { login: owner, name: owner },
      html_url: htmlUrl,
      url: htmlUrl,
      clone_url: `${htmlUrl}.git`,
      git_url: `git://${new URL(repo.url).host}/${path}.git`,
      ssh_url: `git@${new URL(repo.url).host}:${path}.git`,
      default_branch: repo.default_branch,
      master_branch: repo.default_branch,
    },
    pusher: { name: author.username, email: author.email },
    sender: { login: author.username, type: 'User' },
  };
}

function fullRef(ref: string): string {
  return ref.startsWith('refs/') ? ref : `refs/heads/${ref}`;
}

async function call(
  method: string,
  path: string,
  payload: unknown,
  expected: number,
): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
      ...(payload ? { body: JSON.stringify(payload) } : {}),
    });
  } catch (error) {
    return fail(`The local cloud does not answer at ${base} (npm start?): ${(error as Error).message}`);
  }
  const text = await response.text();
  if (response.status !== expected) fail(`${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function fail(message: string, code = 1): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(code);
}
