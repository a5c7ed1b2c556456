/**
 * API Gateway's CORS for an HTTP API that configures it: it answers preflights itself (OPTIONS with
 * Origin and Access-Control-Request-Method, with or without an OPTIONS route), adds the configured
 * headers to every answer to an allowed origin, and drops CORS headers the function sent.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { CORS } from '../api-settings.ts';
import type { HttpResponseData } from './api-result.ts';

export interface CorsOptions {
  /** Exact origins (`https://console.example.com`), or `*`. */
  origins: readonly string[];
  allowCredentials: boolean;
}

export function createCors({ origins, allowCredentials }: CorsOptions) {
  /** The Access-Control-Allow-Origin for this Origin, or undefined when it is not allowed. */
  const allowOrigin = (origin: string | undefined): string | undefined => {
    if (origin === undefined) return undefined;
    if (origins.includes('*')) return '*';
    return origins.includes(origin) ? origin : undefined;
  };
  const forOrigin = (allowed: string) => ({
    'access-control-allow-origin': allowed,
    ...(allowCredentials ? { 'access-control-allow-credentials': 'true' } : {}),
  });

  return {
    /** The answer to a preflight request; undefined when the request is not one. */
    preflight(method: string, headers: IncomingHttpHeaders): HttpResponseData | undefined {
      if (method !== 'OPTIONS' || !headers.origin || !headers['access-control-request-method']) return undefined;
      const allowed = allowOrigin(headers.origin);
      // A refused origin gets no Access-Control-* headers: the browser then refuses the call.
      const grant = allowed
        ? {
            ...forOrigin(allowed),
            'access-control-allow-methods': CORS.allowMethods.join(','),
            'access-control-allow-headers': CORS.allowHeaders.join(','),
            'access-control-max-age': String(CORS.maxAgeSeconds),
          }
        : {};
      return { statusCode: 204, headers: { ...grant, vary: 'origin' }, body: Buffer.alloc(0) };
    },

    /** Any other answer: the function's CORS headers replaced by the configured ones, and `Vary: Origin`. */
    decorate(origin: string | undefined, response: HttpResponseData): HttpResponseData {
      const headers = Object.fromEntries(
        Object.entries(response.headers).filter(([name]) => !/^access-control-/i.test(name) && !/^vary$/i.test(name)),
      );
      const vary = Object.entries(response.headers).find(([name]) => /^vary$/i.test(name))?.[1];
      const allowed = allowOrigin(origin);
      return {
        ...response,
        headers: {
          ...headers,
          ...(allowed ? { ...forOrigin(allowed), 'access-control-expose-headers': CORS.exposeHeaders.join(',') } : {}),
          vary: vary ? `${vary}, origin` : 'origin',
        },
      };
    },
  };
}
