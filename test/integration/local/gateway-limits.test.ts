/**
 * What the local API Gateway does before any function runs, as the CDK stage configures it: stage
 * throttling (a token bucket for the whole stage, API Gateway's own 429) and CORS (preflights
 * answered by the gateway, the allowed origin echoed on every answer). Gateways of the manifest's
 * routes with small limits; the public health route stands for any route.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT, startLocalCloud } from '../../../infra/local/cloud.ts';
import { loadSigningKey } from '../../../infra/local/dev-issuer.ts';
import { type GatewayOptions, startGateway } from '../../../infra/local/gateway.ts';
import { functions, routes } from '../../../infra/manifest.ts';

interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** node:http, so the Origin header goes out exactly as a browser would send it. */
function send(url: string, method: string, headers: Record<string, string> = {}) {
  return new Promise<RawReply>((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const gateways: { close(): Promise<void> }[] = [];
async function gateway(options: Pick<GatewayOptions, 'throttle' | 'cors'>) {
  const started = await startGateway({
    routes,
    functions,
    rootDir: REPO_ROOT,
    port: 0,
    signingKey: await loadSigningKey(),
    quiet: true,
    ...options,
  });
  gateways.push(started);
  return started.url;
}
afterAll(() => Promise.all(gateways.map((g) => g.close())));

const HEALTH = '/api/v1/health';
const CONSOLE = 'https://console.example.test';
const roomy = { rateLimit: 1_000, burstLimit: 1_000 };

describe('stage throttling', () => {
  it('answers a burst beyond the bucket with API Gateway’s own 429, before any function runs', async () => {
    const url = await gateway({ throttle: { rateLimit: 0.5, burstLimit: 3 } });
    const replies = await Promise.all(Array.from({ length: 6 }, () => send(url + HEALTH, 'GET')));
    expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 200, 429, 429, 429]);
    const throttled = replies.find((r) => r.status === 429) as RawReply;
    expect(JSON.parse(throttled.text)).toEqual({ message: 'Too Many Requests' });
    expect(throttled.headers['content-type']).toBe('application/json');
    expect(throttled.headers['apigw-requestid']).toBeTruthy();
  });
});

describe('CORS', () => {
  let url: string;
  beforeAll(async () => {
    url = await gateway({ throttle: roomy, cors: { origins: [CONSOLE], allowCredentials: false } });
  });

  const preflight = (origin: string) =>
    send(`${url}/api/v1/projects`, 'OPTIONS', {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,idempotency-key',
    });

  it('answers a preflight from an allowed origin itself, with no token and no OPTIONS route', async () => {
    const reply = await preflight(CONSOLE);
    expect(reply.status).toBe(204);
    expect(reply.headers).toMatchObject({
      'access-control-allow-origin': CONSOLE,
      'access-control-allow-methods': 'GET,POST,PUT,PATCH,DELETE',
      'access-control-allow-headers': 'authorization,content-type,if-match,idempotency-key',
      'access-control-max-age': '3600',
      vary: 'origin',
    });
    // Bearer tokens travel in Authorization: no cookies, so no credentials mode.
    expect(reply.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('grants nothing to another origin, so the browser refuses the call', async () => {
    const reply = await preflight('https://evil.example.test');
    expect(reply.status).toBe(204);
    expect(Object.keys(reply.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('echoes the allowed origin on every answer, the gateway’s own refusals included, and exposes the headers clients read', async () => {
    const ok = await send(url + HEALTH, 'GET', { origin: CONSOLE });
    expect(ok.status).toBe(200);
    expect(ok.headers).toMatchObject({
      'access-control-allow-origin': CONSOLE,
      'access-control-expose-headers': 'etag,location,retry-after,ratelimit,ratelimit-policy,idempotent-replayed',
      vary: 'origin',
    });
    const unauthorized = await send(`${url}/api/v1/projects`, 'GET', { origin: CONSOLE });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers['access-control-allow-origin']).toBe(CONSOLE);

    const other = await send(url + HEALTH, 'GET', { origin: 'https://evil.example.test' });
    expect(other.status).toBe(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(other.headers.vary).toBe('origin');
  });

  it('is off without configured origins, as on an HTTP API without a CORS configuration', async () => {
    const off = await gateway({ throttle: roomy });
    const reply = await send(`${off}/api/v1/projects`, 'OPTIONS', {
      origin: CONSOLE,
      'access-control-request-method': 'POST',
    });
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.text)).toEqual({ message: 'Not Found' });
    expect(
      (await send(off + HEALTH, 'GET', { origin: CONSOLE })).headers['access-control-allow-origin'],
    ).toBeUndefined();
  });

  it('answers * to every origin when every origin is allowed (never with credentials)', async () => {
    const open = await gateway({ throttle: roomy, cors: { origins: ['*'], allowCredentials: false } });
    const reply = await send(open + HEALTH, 'GET', { origin: 'https://anyone.example.test' });
    expect(reply.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('npm start', () => {
  it('takes throttling, CORS and quotas from the same SLIPWAY_* variables as the CDK app', async () => {
    const settings = {
      SLIPWAY_THROTTLE_RATE_LIMIT: '1',
      SLIPWAY_THROTTLE_BURST_LIMIT: '2',
      SLIPWAY_CORS_ORIGINS: CONSOLE,
      SLIPWAY_QUOTA_WRITES_PER_MINUTE: '7',
      SLIPWAY_QUOTA_DEPLOYS_PER_MINUTE: undefined,
    };
    const saved = Object.fromEntries(Object.keys(settings).map((name) => [name, process.env[name]]));
    const setEnv = (values: Record<string, string | undefined>) => {
      for (const [name, value] of Object.entries(values)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    };
    setEnv(settings);
    const cloud = await startLocalCloud({
      port: 0,
      inMemory: true,
      quiet: true,
      dynamoEndpoint: inject('dynamoEndpoint'),
      tableName: `slipway-test-${randomUUID().slice(0, 8)}`,
    });
    try {
      expect(
        (
          await send(`${cloud.url}/api/v1/projects`, 'OPTIONS', {
            origin: CONSOLE,
            'access-control-request-method': 'POST',
          })
        ).headers['access-control-allow-origin'],
      ).toBe(CONSOLE);
      const replies = await Promise.all(Array.from({ length: 3 }, () => send(cloud.url + HEALTH, 'GET')));
      expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 429]);
      // The functions read their quotas from the environment the cloud leaves them.
      expect(process.env.SLIPWAY_QUOTA_WRITES_PER_MINUTE).toBe('7');
      expect(process.env.SLIPWAY_QUOTA_DEPLOYS_PER_MINUTE).toBe('10');
    } finally {
      await cloud.stop();
      setEnv(saved);
    }
  });
});
