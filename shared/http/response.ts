import { etagOf } from './etag.ts';

/** What a route returns; the kernel writes it as the Lambda proxy result. */
export interface ApiResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  /**
   * What an Idempotency-Key replay of this answer returns, when it must differ: an answer holding a
   * secret shown once is stored without it (shared/http/api.ts strips this before answering).
   */
  stored?: ApiResult;
}

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** A single resource with its ETag, so the client can send it back in If-Match. */
export const resource = (
  statusCode: number,
  body: { version: number },
  extra: Record<string, string> = {},
): ApiResult => json(statusCode, body, { etag: etagOf(body.version), ...extra });

export const created = (body: { version: number }, location: string): ApiResult => resource(201, body, { location });

export const noContent = (): ApiResult => ({ statusCode: 204, headers: {}, body: '' });
