import { describe, expect, it } from 'vitest';
import {
  type ApiEventV2,
  buildApiEvent,
  type HttpRequestData,
  isTextual,
  newRequestId,
} from '../../../infra/local/api-event.ts';

const TIME = new Date(Date.UTC(2020, 2, 12, 19, 3, 58, 390));

function request(overrides: Partial<HttpRequestData> = {}): HttpRequestData {
  return {
    method: 'GET',
    target: '/api/v1/projects/p1',
    httpVersion: '1.1',
    headers: { host: ['localhost:3000'], 'user-agent': ['curl/8.5.0'] },
    body: Buffer.alloc(0),
    sourceIp: '127.0.0.1',
    port: 3000,
    ...overrides,
  };
}

const routing = {
  routeKey: 'GET /api/v1/projects/{id}',
  pathParameters: { id: 'p1' },
  requestId: 'Mc7UVioPPHcEKPA=',
  time: TIME,
};

const build = (overrides: Partial<HttpRequestData> = {}, extra: object = {}): ApiEventV2 =>
  buildApiEvent(request(overrides), { ...routing, ...extra });

describe('payload 2.0 event', () => {
  it('has the documented shape', () => {
    const event = build({}, { jwt: { claims: { sub: 'alice' }, scopes: null } });
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /api/v1/projects/{id}',
      rawPath: '/api/v1/projects/p1',
      rawQueryString: '',
      pathParameters: { id: 'p1' },
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        authorizer: { jwt: { claims: { sub: 'alice' }, scopes: null } },
        domainName: 'localhost',
        domainPrefix: 'localhost',
        http: {
          method: 'GET',
          path: '/api/v1/projects/p1',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'curl/8.5.0',
        },
        requestId: 'Mc7UVioPPHcEKPA=',
        routeKey: 'GET /api/v1/projects/{id}',
        stage: '$default',
        time: '12/Mar/2020:19:03:58 +0000',
        timeEpoch: TIME.getTime(),
      },
    });
    // Absent, not empty, when there is nothing to carry.
    for (const field of ['body', 'cookies', 'queryStringParameters']) expect(event).not.toHaveProperty(field);
  });

  it('carries no authorizer on public routes', () => {
    expect(build().requestContext).not.toHaveProperty('authorizer');
  });

  it('joins repeated headers with commas, drops cookie and connection headers, adds the forwarding ones', () => {
    const { headers } = build({
      headers: {
        host: ['localhost:3000'],
        accept: ['text/html', 'application/json'],
        cookie: ['a=1'],
        connection: ['keep-alive'],
        'x-forwarded-for': ['10.0.0.1'],
      },
    });
    expect(headers).toMatchObject({
      accept: 'text/html,application/json',
      'x-forwarded-for': '10.0.0.1, 127.0.0.1',
      'x-forwarded-port': '3000',
      'x-forwarded-proto': 'http',
    });
    expect(headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=1$/);
    expect(headers).not.toHaveProperty('cookie');
    expect(headers).not.toHaveProperty('connection');
  });

  it('splits cookie headers into cookies', () => {
    expect(build({ headers: { cookie: ['a=1; b=2', 'c=3'] } }).cookies).toEqual(['a=1', 'b=2', 'c=3']);
  });

  it('keeps the raw query string and decodes parameters, joining repeated keys with commas', () => {
    const event = build({ target: '/api/v1/projects?limit=2&tag=a&tag=b%2Cc&name=caf%C3%A9&flag' });
    expect(event.rawQueryString).toBe('limit=2&tag=a&tag=b%2Cc&name=caf%C3%A9&flag');
    expect(event.queryStringParameters).toEqual({ limit: '2', tag: 'a,b,c', name: 'café', flag: '' });
  });

  it('decodes the path, leaving invalid escapes as sent', () => {
    const event = build({ target: '/files/a%20b/100%zz' });
    expect(event.rawPath).toBe('/files/a b/100%zz');
    expect(event.requestContext.http.path).toBe('/files/a b/100%zz');
  });

  it('passes JSON and text bodies as text, anything else base64-encoded', () => {
    const json = build({
      headers: { 'content-type': ['application/json; charset=utf-8'] },
      body: Buffer.from('{"a":"é"}'),
    });
    expect(json).toMatchObject({ body: '{"a":"é"}', isBase64Encoded: false });

    const bytes = Buffer.from([0, 1, 2, 255]);
    const binary = build({ headers: { 'content-type': ['application/octet-stream'] }, body: bytes });
    expect(binary).toMatchObject({ body: bytes.toString('base64'), isBase64Encoded: true });

    const form = build({
      headers: { 'content-type': ['application/x-www-form-urlencoded'] },
      body: Buffer.from('a=1'),
    });
    expect(form).toMatchObject({ body: Buffer.from('a=1').toString('base64'), isBase64Encoded: true });

    const untyped = build({ headers: {}, body: Buffer.from('x') });
    expect(untyped.isBase64Encoded).toBe(true);
  });
});

describe('textual content types', () => {
  it('are text/*, application/json, application/xml and application/javascript', () => {
    for (const type of [
      'text/plain',
      'text/csv; charset=utf-8',
      'application/json',
      'APPLICATION/JSON',
      'application/xml',
      'application/javascript',
    ]) {
      expect(isTextual(type)).toBe(true);
    }
    for (const type of [
      undefined,
      '',
      'application/octet-stream',
      'image/png',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
    ]) {
      expect(isTextual(type)).toBe(false);
    }
  });
});

describe('request ids', () => {
  it('look like API Gateway’s and differ', () => {
    const ids = new Set(Array.from({ length: 100 }, newRequestId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9+/]{15}=$/);
  });
});
