import { describe, expect, it } from 'vitest';
import { gatewayResponse, interpretResult, LAMBDA_RESPONSE_LIMIT_BYTES } from '../../../infra/local/api-result.ts';

const text = (result: unknown) => interpretResult(result).response.body.toString('utf8');

describe('Lambda result under payload 2.0', () => {
  it('uses a structured response as given', () => {
    const { response, warning } = interpretResult({
      statusCode: 201,
      headers: { 'content-type': 'application/problem+json', 'x-count': 3, 'x-flag': true },
      body: '{"ok":true}',
    });
    expect(warning).toBeUndefined();
    expect(response.statusCode).toBe(201);
    expect(response.headers).toEqual({ 'content-type': 'application/problem+json', 'x-count': '3', 'x-flag': 'true' });
    expect(response.body.toString()).toBe('{"ok":true}');
  });

  it('defaults the content type to text/plain; charset=utf-8 and the body to empty', () => {
    const { response } = interpretResult({ statusCode: 204 });
    expect(response.headers).toEqual({ 'content-type': 'text/plain; charset=utf-8' });
    expect(response.body.length).toBe(0);
    expect(interpretResult({ statusCode: 200, headers: { 'Content-Type': 'text/html' } }).response.headers).toEqual({
      'Content-Type': 'text/html',
    });
  });

  it('turns each cookie into a set-cookie header', () => {
    const { response } = interpretResult({ statusCode: 200, cookies: ['a=1; Path=/', 'b=2'] });
    expect(response.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2']);
  });

  it('decodes base64 bodies', () => {
    const bytes = Buffer.from([137, 80, 78, 71, 0, 255]);
    const { response } = interpretResult({ statusCode: 200, body: bytes.toString('base64'), isBase64Encoded: true });
    expect(response.body.equals(bytes)).toBe(true);
  });

  it('makes anything without statusCode the body of a 200 application/json, as serialized', () => {
    for (const [result, body] of [
      ['hello', '"hello"'],
      [{ hello: 'world' }, '{"hello":"world"}'],
      [[1, 2], '[1,2]'],
      [42, '42'],
      [undefined, 'null'],
      [{ status: 200, body: 'x' }, '{"status":200,"body":"x"}'],
    ] as const) {
      const { response } = interpretResult(result);
      expect(response.statusCode).toBe(200);
      expect(response.headers).toEqual({ 'content-type': 'application/json' });
      expect(response.body.toString()).toBe(body);
    }
  });

  it('judges the result after the JSON round trip Lambda gives it', () => {
    const when = new Date(Date.UTC(2026, 0, 1));
    expect(text({ statusCode: 200, body: 'x', ignored: undefined, at: when })).toBe('x');
    expect(text({ at: when })).toBe('{"at":"2026-01-01T00:00:00.000Z"}');
  });

  it('ignores multiValueHeaders (a format 1.0 field), with a warning', () => {
    const { response, warning } = interpretResult({ statusCode: 200, multiValueHeaders: { 'x-a': ['1', '2'] } });
    expect(response.headers).not.toHaveProperty('x-a');
    expect(warning).toMatch(/multiValueHeaders/);
  });

  it('answers 500 Internal Server Error for a malformed response', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const result of [
      { statusCode: 'teapot' },
      { statusCode: 99 },
      { statusCode: 200.5 },
      { statusCode: 200, body: { not: 'a string' } },
      { statusCode: 200, headers: { 'x-list': ['a'] } },
      { statusCode: 200, cookies: 'a=1' },
      { statusCode: 200, isBase64Encoded: 'yes' },
      circular,
      { big: 1n },
    ]) {
      const { response, warning } = interpretResult(result);
      expect(response.statusCode).toBe(500);
      expect(JSON.parse(response.body.toString())).toEqual({ message: 'Internal Server Error' });
      expect(warning).toMatch(/^Malformed Lambda response/);
    }
  });

  it('answers 500 for a response over Lambda’s 6 MB limit', () => {
    const { response, warning } = interpretResult({ statusCode: 200, body: 'x'.repeat(LAMBDA_RESPONSE_LIMIT_BYTES) });
    expect(response.statusCode).toBe(500);
    expect(warning).toMatch(/6 MB/);
  });
});

describe('gateway responses', () => {
  it('are JSON messages, as API Gateway writes them', () => {
    const response = gatewayResponse(401, 'Unauthorized', { 'www-authenticate': 'Bearer' });
    expect(response.headers).toEqual({ 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
    expect(response.body.toString()).toBe('{"message":"Unauthorized"}');
  });
});
