/**
 * `npm run hook` run as a child process: it reads the app's repository through the API with a dev
 * admin token, and sends a push signed as GitHub signs it. The platform here is a plain HTTP server
 * that records what arrives, so the signature is checked independently of the webhook route's code.
 */
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '../../../infra/local/hook.ts');
const folder = mkdtempSync(join(tmpdir(), 'slipway-hook-cli-'));
const APP = 'app_01jd7wz6xq3v9k2m4n5p6r7s8t';

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}
const received: Received[] = [];
let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      received.push(entry);
      const reply = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (entry.method === 'GET' && entry.path === `/api/v1/apps/${APP}`) {
        return reply(200, {
          id: APP,
          repository: { provider: 'github', url: 'https://github.com/acme/shop-api', default_branch: 'main' },
        });
      }
      if (entry.method === 'POST' && entry.path === `/api/v1/apps/${APP}/webhooks`) {
        return reply(201, { id: 'hook_created', secret: 'created-secret' });
      }
      if (entry.method === 'POST' && entry.path.startsWith('/api/v1/hooks/github/'))
        return reply(202, { outcome: 'accepted' });
      reply(404, {});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  rmSync(folder, { recursive: true, force: true });
});

async function hookCli(...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [CLI, '--port', String(port), '--data-dir', folder, ...args],
      { timeout: 15_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const lastPush = () => received.filter((r) => r.path.startsWith('/api/v1/hooks/')).at(-1) as Received;
const signed = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('npm run hook', () => {
  it('sends a push of the app’s repository, signed as GitHub signs it, for the endpoint given', async () => {
    const sha = '0123456789abcdef0123456789abcdef01234567';
    const run = await hookCli('--app', APP, '--ref', 'main', '--sha', sha, '--hook', 'hook_1', '--secret', 's3cret');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('HTTP 202');
    const read = received.find((r) => r.method === 'GET');
    expect(read?.headers.authorization).toMatch(/^Bearer ey/);

    const push = lastPush();
    expect(push.path).toBe('/api/v1/hooks/github/hook_1');
    expect(push.headers['x-github-event']).toBe('push');
    expect(push.headers['x-github-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    expect(push.headers['x-hub-signature-256']).toBe(signed('s3cret', push.body));
    expect(JSON.parse(push.body)).toMatchObject({
      ref: 'refs/heads/main',
      after: sha,
      deleted: false,
      head_commit: { id: sha, modified: ['README.md'] },
      repository: {
        id: expect.any(Number),
        full_name: 'acme/shop-api',
        clone_url: 'https://github.com/acme/shop-api.git',
      },
    });
  });

  it('creates an endpoint through the API when given none, and says how to reuse it', async () => {
    const run = await hookCli('--app', APP, '--ref', 'refs/tags/v1.0.0');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('--hook hook_created --secret created-secret');
    const push = lastPush();
    expect(push.path).toBe('/api/v1/hooks/github/hook_created');
    expect(push.headers['x-hub-signature-256']).toBe(signed('created-secret', push.body));
    expect(JSON.parse(push.body).ref).toBe('refs/tags/v1.0.0');
  });

  it('says what is wrong with its arguments', async () => {
    expect((await hookCli('--hook', 'hook_1')).code).toBe(2);
    expect((await hookCli('--app', APP, '--hook', 'hook_1')).code).toBe(2);
    const badSha = await hookCli('--app', APP, '--sha', 'main');
    expect(badSha.code).toBe(2);
    expect(badSha.stderr).toContain('--sha');
  });
});
