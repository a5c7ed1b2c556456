/**
 * A Git provider simulator for the local cloud: it plays api.github.com (and GitHub Enterprise under
 * any path prefix, e.g. /api/v3) and GitLab's API (/api/v4) for commit statuses. The commit status
 * function posts to it as it would to the real ones; it checks the token header is there, answers as
 * the provider does (201 and the status), prints each status (`git ▸ …`) and lets tests and people
 * read them back: `GET /_local/git/statuses?sha=<sha>`. `failNext` (or `POST /_local/git/faults`
 * with `{"status": 500, "times": 1}`) makes the next posts fail, to watch the bus retry them.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedStatus {
  provider: 'github' | 'gitlab';
  /** `owner/repo` on GitHub, the project's id or path on GitLab. */
  repository: string;
  sha: string;
  state: string;
  context: string;
  target_url?: string;
  description?: string;
  ref?: string;
  /** The request path, API prefix included (`/api/v3/repos/…` for GitHub Enterprise). */
  path: string;
  /** A short hash of the token it was sent with: which token, never the token. */
  token_hash: string;
  received_at: string;
}

export interface GitProviderSimulator {
  /** `http://127.0.0.1:<port>`: GitHub's API root. */
  url: string;
  /** GitLab's API root, `<url>/api/v4`. */
  gitlabUrl: string;
  statuses(sha?: string): RecordedStatus[];
  /** The next `times` status posts answer `status` (a 500 to see retries, a 401 for a refused token). */
  failNext(status: number, times?: number): void;
  close(): Promise<void>;
}

const GITHUB_STATES = new Set(['pending', 'success', 'failure', 'error']);
const GITLAB_STATES = new Set(['pending', 'running', 'success', 'failed', 'canceled', 'skipped']);
const MAX_BODY = 64 * 1024;

const GITHUB_STATUS =
  /^(?<prefix>(?:\/[\w.-]+)*)\/repos\/(?<owner>[\w.-]+)\/(?<repo>[\w.-]+)\/statuses\/(?<sha>[0-9a-f]{40})$/;
const GITLAB_STATUS = /^(?<prefix>(?:\/[\w.-]+)*)\/projects\/(?<project>[^/]+)\/statuses\/(?<sha>[0-9a-f]{40})$/;

export async function startGitProviderSimulator(print: (line: string) => void): Promise<GitProviderSimulator> {
  const recorded: RecordedStatus[] = [];
  const faults: number[] = [];

  const server = createServer((req, res) => {
    readBody(req).then(
      (body) => send(res, answer(req, body)),
      () => send(res, reply(413, { message: 'Body too large' })),
    );
  });

  function answer(req: IncomingMessage, body: string): Reply {
    const url = new URL(req.url ?? '/', 'http://git.local');
    if (req.method === 'GET' && url.pathname === '/_local/git/statuses') {
      return reply(200, statuses(url.searchParams.get('sha') ?? undefined));
    }
    if (req.method === 'POST' && url.pathname === '/_local/git/faults') {
      const fault = parse(body) as { status?: number; times?: number } | undefined;
      if (!fault?.status || fault.status < 400 || fault.status > 599) return reply(400, { message: 'status 4xx/5xx' });
      failNext(fault.status, fault.times ?? 1);
      return reply(204, undefined);
    }
    const github = GITHUB_STATUS.exec(url.pathname)?.groups;
    const gitlab = github ? undefined : GITLAB_STATUS.exec(url.pathname)?.groups;
    if (req.method !== 'POST' || !(github || gitlab)) return reply(404, { message: 'Not Found' });

    const token = github
      ? bearer(req.headers.authorization)
      : (header(req, 'private-token') ?? bearer(req.headers.authorization));
    if (!token) return reply(401, { message: github ? 'Requires authentication' : '401 Unauthorized' });
    const fault = faults.shift();
    if (fault) return reply(fault, { message: `Simulated ${fault}` });

    const status = parse(body) as Record<string, unknown> | undefined;
    const state = typeof status?.state === 'string' ? status.state : '';
    if (!(github ? GITHUB_STATES : GITLAB_STATES).has(state)) {
      return reply(github ? 422 : 400, { message: `state is not one of the provider's states: ${state}` });
    }
    const text = (name: string) => (typeof status?.[name] === 'string' ? (status[name] as string) : undefined);
    const entry: RecordedStatus = {
      provider: github ? 'github' : 'gitlab',
      repository: github ? `${github.owner}/${github.repo}` : decodeURIComponent(gitlab?.project ?? ''),
      sha: (github ?? gitlab)?.sha ?? '',
      state,
      context: (github ? text('context') : (text('name') ?? text('context'))) ?? 'default',
      ...optional('target_url', text('target_url')),
      ...optional('description', text('description')),
      ...optional('ref', text('ref')),
      path: url.pathname,
      token_hash: createHash('sha256').update(token).digest('hex').slice(0, 12),
      received_at: new Date().toISOString(),
    };
    recorded.push(entry);
    print(
      `git ▸ ${entry.provider} ${entry.repository}@${entry.sha.slice(0, 7)} ${entry.state} ${entry.context}${entry.target_url ? ` → ${entry.target_url}` : ''}`,
    );
    return reply(201, { id: recorded.length, ...entry, created_at: entry.received_at });
  }

  const statuses = (sha?: string) => recorded.filter((entry) => sha === undefined || entry.sha === sha);
  const failNext = (status: number, times = 1) => {
    for (let i = 0; i < times; i++) faults.push(status);
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    gitlabUrl: `${url}/api/v4`,
    statuses,
    failNext,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const optional = (name: string, value: string | undefined) => (value === undefined ? {} : { [name]: value });

const header = (req: IncomingMessage, name: string) => {
  const value = req.headers[name];
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
};

/** `Bearer <t>` or GitHub's older `token <t>`. */
const bearer = (value: string | undefined) => /^(?:Bearer|token)\s+(\S+)$/i.exec(value ?? '')?.[1];

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

interface Reply {
  status: number;
  body: unknown;
}
const reply = (status: number, body: unknown): Reply => ({ status, body });

function send(res: ServerResponse, { status, body }: Reply): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        req.destroy();
        reject(new Error('too large'));
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
