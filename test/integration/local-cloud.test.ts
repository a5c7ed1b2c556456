/**
 * The local cloud itself, through real HTTP: the API Gateway behaviours the functions rely on
 * (event shape, authorizer, AWS's own error answers, result mapping) and the lifecycle of
 * DynamoDB Local. Fixture functions live in ./fixtures.
 */
import { spawn } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it, type MockInstance, vi } from 'vitest';
import { ensureTable, localDynamoClient } from '../../infra/local/dynamodb.ts';
import { isPortFree } from '../../infra/local/ports.ts';
import { PNG } from './fixtures/behave.ts';
import { calls } from './fixtures/echo.ts';
import { fixtureFunctions, fixtureRoutes } from './fixtures/functions.ts';
import { startTestCloud, type TestCloud } from './harness.ts';

let cloud: TestCloud;
let token: string;

beforeAll(async () => {
  cloud = await startTestCloud({ routes: fixtureRoutes, functions: fixtureFunctions, integrationTimeoutMs: 2_000 });
  token = await cloud.mintToken({ sub: 'alice', name: 'Alice', groups: ['platform-admins', 'dev'] });
});
afterAll(() => cloud?.stop());

interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** node:http, for what fetch cannot send: repeated header lines, exact bytes. */
function raw(
  path: string,
  options: { method?: string; headers?: Record<string, string | string[]>; body?: Buffer | string } = {},
) {
  return new Promise<RawReply>((resolve, reject) => {
    const req = httpRequest(
      `${cloud.url}${path}`,
      { method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const json = (reply: RawReply) => JSON.parse(reply.body.toString('utf8'));
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** Captures (and hides) the gateway's stderr lines: expected failures are asserted, not printed. */
function captureStderr(): { lines: () => string[]; restore: () => void } {
  const spy: MockInstance = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return { lines: () => spy.mock.calls.map((call) => String(call[0])), restore: () => spy.mockRestore() };
}

describe('events (API Gateway HTTP API, payload 2.0)', () => {
  it('carry the request, route, authorizer context and Lambda context', async () => {
    const before = calls.count;
    const reply = await raw('/fixtures/echo/a%20b?x=1&x=2&name=caf%C3%A9', {
      method: 'POST',
      headers: {
        ...bearer(token),
        'content-type': 'application/json',
        cookie: 'c1=v1; c2=v2',
        'x-multi': ['a', 'b'],
        'User-Agent': 'slipway-test',
      },
      body: '{"hello":"world"}',
    });
    expect(reply.status).toBe(200);
    // The fixture module the gateway imported is this file's: its counter proves a call (or none, below).
    expect(calls.count).toBe(before + 1);
    const { event, context, env } = json(reply);

    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /fixtures/echo/{id}',
      rawPath: '/fixtures/echo/a b',
      rawQueryString: 'x=1&x=2&name=caf%C3%A9',
      cookies: ['c1=v1', 'c2=v2'],
      queryStringParameters: { x: '1,2', name: 'café' },
      pathParameters: { id: 'a b' },
      body: '{"hello":"world"}',
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        domainName: 'localhost',
        http: {
          method: 'POST',
          path: '/fixtures/echo/a b',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'slipway-test',
        },
        requestId: reply.headers['apigw-requestid'],
        routeKey: 'POST /fixtures/echo/{id}',
        stage: '$default',
      },
    });
    expect(event.headers).toMatchObject({
      'x-multi': 'a,b',
      'content-type': 'application/json',
      'user-agent': 'slipway-test',
    });
    expect(event.headers).not.toHaveProperty('cookie');
    expect(Object.keys(event.headers).every((name: string) => name === name.toLowerCase())).toBe(true);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(10_000);

    expect(context).toMatchObject({
      functionName: 'slipway-echo',
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:slipway-echo`,
      memoryLimitInMB: '128',
      logGroupName: '/aws/lambda/slipway-echo',
    });
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    // The echo function's timeout is 3 s.
    expect(context.remainingTimeInMillis).toBeGreaterThan(2_000);
    expect(context.remainingTimeInMillis).toBeLessThanOrEqual(3_000);
    expect(env).toEqual({
      TABLE_NAME: cloud.tableName,
      AWS_ENDPOINT_URL_DYNAMODB: cloud.dynamoEndpoint,
      AWS_REGION: process.env.AWS_REGION,
      SLIPWAY_ADMIN_GROUPS: process.env.SLIPWAY_ADMIN_GROUPS,
      POWERTOOLS_SERVICE_NAME: 'slipway',
    });
  });

  it('hand over the verified claims as strings, the way API Gateway does', async () => {
    const rich = await cloud.mintToken({
      sub: 'bob',
      email: 'bob@example.com',
      groups: ['platform-admins', 'dev'],
      scope: 'deploy:read deploy:write',
      claims: { level: 3, verified: true },
    });
    const { event } = json(await raw('/fixtures/echo/x', { headers: bearer(rich) }));
    const { claims, scopes } = event.requestContext.authorizer.jwt;
    expect(claims).toMatchObject({
      sub: 'bob',
      email: 'bob@example.com',
      groups: '[platform-admins dev]',
      level: '3',
      verified: 'true',
      iss: cloud.issuer,
      aud: 'slipway',
    });
    expect(claims.exp).toMatch(/^\d+$/);
    expect(scopes).toEqual(['deploy:read', 'deploy:write']);
  });

  it('have no authorizer on public routes, which need no token', async () => {
    const reply = await raw('/fixtures/public/echo');
    expect(reply.status).toBe(200);
    expect(json(reply).event.requestContext).not.toHaveProperty('authorizer');
  });

  it('carry binary and form bodies base64-encoded, text and JSON as text', async () => {
    const bytes = Buffer.from([0, 1, 2, 254, 255]);
    const binary = json(
      await raw('/fixtures/echo/x', {
        method: 'POST',
        headers: { ...bearer(token), 'content-type': 'application/octet-stream' },
        body: bytes,
      }),
    ).event;
    expect(binary.isBase64Encoded).toBe(true);
    expect(Buffer.from(binary.body, 'base64').equals(bytes)).toBe(true);

    const form = json(
      await raw('/fixtures/echo/x', {
        method: 'POST',
        headers: { ...bearer(token), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=1&b=2',
      }),
    ).event;
    expect(form).toMatchObject({ isBase64Encoded: true, body: Buffer.from('a=1&b=2').toString('base64') });

    const textual = json(
      await raw('/fixtures/echo/x', {
        method: 'POST',
        headers: { ...bearer(token), 'content-type': 'text/plain; charset=utf-8' },
        body: 'héllo',
      }),
    ).event;
    expect(textual).toMatchObject({ isBase64Encoded: false, body: 'héllo' });
  });

  it('get a request id of their own, echoed in apigw-requestid', async () => {
    const ids = await Promise.all(
      Array.from({ length: 5 }, () => raw('/fixtures/public/echo').then((r) => r.headers['apigw-requestid'])),
    );
    expect(new Set(ids).size).toBe(5);
  });
});

describe('the JWT authorizer', () => {
  it('answers 401 before any handler runs, for every bad token', async () => {
    const good = await cloud.mintToken({ sub: 'mallory' });
    const [, payload] = good.split('.');
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const bad: Record<string, Record<string, string>> = {
      missing: {},
      'not a JWT': bearer('not-a-token'),
      expired: bearer(await cloud.mintToken({ sub: 'mallory', ttlSeconds: -120 })),
      'wrong audience': bearer(await cloud.mintToken({ sub: 'mallory', audience: 'someone-else' })),
      'foreign key': bearer(await cloud.mintForeignToken({ sub: 'mallory' })),
      'alg none': bearer(`${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`),
      'basic auth': { authorization: 'Basic bWFsbG9yeTpzZWNyZXQ=' },
    };
    const before = calls.count;
    for (const [name, headers] of Object.entries(bad)) {
      const reply = await raw('/fixtures/echo/x', {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(reply.status, name).toBe(401);
      expect(json(reply), name).toEqual({ message: 'Unauthorized' });
      expect(reply.headers['www-authenticate'], name).toMatch(/^Bearer/);
      expect(reply.headers['apigw-requestid'], name).toBeDefined();
    }
    expect(calls.count).toBe(before);
  });

  it('names the reason in www-authenticate', async () => {
    const expired = await cloud.mintToken({ sub: 'mallory', ttlSeconds: -120 });
    const reply = await raw('/fixtures/echo/x', { headers: bearer(expired) });
    expect(reply.headers['www-authenticate']).toBe(
      'Bearer scope="" error="invalid_token" error_description="the token has expired"',
    );
  });

  it('accepts the bare token, without the Bearer prefix, as AWS does', async () => {
    expect((await raw('/fixtures/echo/x', { headers: { authorization: token } })).status).toBe(200);
  });
});

describe('answers API Gateway gives without the function', () => {
  it('404 Not Found for an unknown path or a method without a route', async () => {
    const before = calls.count;
    for (const [method, path] of [
      ['GET', '/nowhere'],
      ['DELETE', '/fixtures/echo/x'],
      ['GET', '/fixtures/echo'],
      ['GET', '/'],
    ] as const) {
      const reply = await raw(path, { method, headers: bearer(token) });
      expect(reply.status, `${method} ${path}`).toBe(404);
      expect(json(reply)).toEqual({ message: 'Not Found' });
    }
    expect(calls.count).toBe(before);
  });

  it('413 for a body over 10 MB (HTTP API’s limit), and for an event over Lambda’s 6 MB', async () => {
    const before = calls.count;
    const huge = await raw('/fixtures/echo/x', {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20),
    });
    expect(huge.status).toBe(413);
    expect(huge.body.toString()).toBe('HTTP content length exceeded 10485760 bytes.');

    const large = await raw('/fixtures/echo/x', {
      method: 'POST',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      body: `"${'x'.repeat(7 * 1024 * 1024)}"`,
    });
    expect(large.status).toBe(413);
    expect(json(large)).toEqual({ message: 'Request Too Long' });
    expect(calls.count).toBe(before);
  });
});

describe('function results and failures', () => {
  const behave = (what: string) => raw(`/fixtures/behave?do=${what}`);

  it('map results as payload 2.0 does', async () => {
    const text = await behave('string');
    expect([text.status, text.headers['content-type'], text.body.toString()]).toEqual([
      200,
      'application/json',
      '"hello"',
    ]);

    const object = await behave('object');
    expect([object.status, object.headers['content-type'], json(object)]).toEqual([
      200,
      'application/json',
      { hello: 'world' },
    ]);

    const plain = await behave('no-content-type');
    expect([plain.status, plain.headers['content-type'], plain.body.toString()]).toEqual([
      201,
      'text/plain; charset=utf-8',
      'created',
    ]);

    const cookies = await behave('cookies');
    expect(cookies.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);

    const png = await behave('binary');
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.body.equals(PNG)).toBe(true);
  });

  it('500 Internal Server Error when the handler throws or returns a malformed response, with the error logged', async () => {
    const stderr = captureStderr();
    try {
      for (const what of ['throw', 'malformed']) {
        const reply = await behave(what);
        expect(reply.status, what).toBe(500);
        expect(json(reply)).toEqual({ message: 'Internal Server Error' });
      }
      const logged = stderr.lines().map((line) => JSON.parse(line));
      expect(logged[0]).toMatchObject({
        level: 'ERROR',
        message: 'Invoke Error',
        errorMessage: 'boom',
        function: 'slipway-behave',
      });
      expect(logged[1]).toMatchObject({ level: 'WARN', message: expect.stringMatching(/^Malformed Lambda response/) });
    } finally {
      stderr.restore();
    }
  });

  it('ignores multiValueHeaders, which payload 2.0 does not read', async () => {
    const stderr = captureStderr();
    try {
      const reply = await behave('multi-value-headers');
      expect(reply.status).toBe(200);
      expect(reply.headers['x-single']).toBe('1');
      expect(reply.headers).not.toHaveProperty('x-multi');
    } finally {
      stderr.restore();
    }
  });

  it('500 when the function outlives its own timeout; 503 when API Gateway’s integration timeout comes first', async () => {
    const stderr = captureStderr();
    try {
      const fast = await behave('sleep&ms=100');
      expect(fast.status).toBe(200);

      let started = Date.now();
      const functionTimeout = await behave('sleep&ms=1500'); // behave: timeout 1 s
      expect(functionTimeout.status).toBe(500);
      expect(json(functionTimeout)).toEqual({ message: 'Internal Server Error' });
      expect(Date.now() - started).toBeLessThan(1_400);
      expect(stderr.lines().join('')).toContain('Task timed out after 1.00 seconds');

      started = Date.now();
      const integrationTimeout = await raw('/fixtures/patient?do=sleep&ms=3000'); // patient: 29 s; integration: 2 s
      expect(integrationTimeout.status).toBe(503);
      expect(json(integrationTimeout)).toEqual({ message: 'Service Unavailable' });
      expect(Date.now() - started).toBeLessThan(2_800);
    } finally {
      stderr.restore();
    }
  });
});

describe('the dev issuer', () => {
  it('is a discoverable OIDC issuer whose JWKS verifies its tokens', async () => {
    const configuration = (await (await fetch(`${cloud.issuer}/.well-known/openid-configuration`)).json()) as {
      jwks_uri: string;
    };
    expect(configuration).toMatchObject({ issuer: cloud.issuer, id_token_signing_alg_values_supported: ['RS256'] });
    const jwks = (await (await fetch(configuration.jwks_uri)).json()) as { keys: { kid: string }[] };
    const { kid } = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString());
    expect(jwks.keys.map((k) => k.kid)).toContain(kid);
    expect(cloud.issuer).toBe(`${cloud.url}/dev-issuer`);
  });
});

describe('the table', () => {
  const client = () => localDynamoClient(inject('dynamoEndpoint'));

  it('is created from tableSchema with both GSIs and TTL, and ensureTable is idempotent', async () => {
    const dynamo = client();
    try {
      await ensureTable(dynamo, cloud.tableName);
      await ensureTable(dynamo, cloud.tableName);
      const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: cloud.tableName }));
      expect(Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.Projection?.ProjectionType]).sort()).toEqual([
        ['GSI1', 'ALL'],
        ['GSI2', 'ALL'],
      ]);
      const ttl = await dynamo.send(new DescribeTimeToLiveCommand({ TableName: cloud.tableName }));
      expect(ttl.TimeToLiveDescription).toMatchObject({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
    } finally {
      dynamo.destroy();
    }
  });

  it('is refused, with advice, when an existing table has another shape', async () => {
    const dynamo = client();
    const name = `${cloud.tableName}-old`;
    try {
      await dynamo.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        }),
      );
      await expect(ensureTable(dynamo, name)).rejects.toThrow(/another key schema.*--in-memory/);
    } finally {
      dynamo.destroy();
    }
  });
});

describe('DynamoDB Local lifecycle', () => {
  const parentScript = fileURLToPath(new URL('./fixtures/dynamo-parent.ts', import.meta.url));

  /** Starts a parent process that runs DynamoDB Local, ends it as `end` says, and reports whether the JVM outlived it. */
  async function jvmSurvives(end: 'SIGKILL' | 'SIGTERM' | 'throw'): Promise<boolean> {
    const parent = spawn(process.execPath, [parentScript, end === 'throw' ? 'throw' : 'wait'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const { endpoint, pid } = await new Promise<{ endpoint: string; pid: number }>((resolve, reject) => {
      parent.stdout.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString())));
      parent.once('exit', () => reject(new Error('the parent exited before DynamoDB Local answered')));
    });
    if (end !== 'throw') parent.kill(end);
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
      if (!alive(pid) && (await isPortFree(Number(new URL(endpoint).port)))) return false;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    process.kill(pid, 'SIGKILL');
    return true;
  }

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('does not outlive its parent: SIGKILL, SIGTERM or an uncaught error', { timeout: 90_000 }, async () => {
    const survivors = await Promise.all((['SIGKILL', 'SIGTERM', 'throw'] as const).map(jvmSurvives));
    expect(survivors).toEqual([false, false, false]);
  });
});
