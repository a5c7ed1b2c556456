/**
 * The API's traffic settings, the same on AWS and on the local cloud: stage throttling (API
 * Gateway's token bucket), CORS for browser front-ends, and the per-caller quotas the functions
 * enforce (ADR 16). infra/aws reads them from CDK context, then the environment; infra/local from
 * the environment. The defaults are here (the quota defaults are the functions' own, in
 * shared/quotas/meter.ts).
 */
import { DEFAULT_DEPLOYS_PER_MINUTE, DEFAULT_WRITES_PER_MINUTE } from '../shared/quotas/meter.ts';
import { routes } from './manifest.ts';

export interface ApiSettings {
  /** Steady-state requests per second and burst for the whole API ($default stage). */
  throttleRateLimit: number;
  throttleBurstLimit: number;
  /** Browser origins allowed by CORS; empty means CORS stays off (API clients are not browsers). */
  corsOrigins: string[];
  /** Let browsers send cookies: off, bearer tokens need none; never with the origin `*`. */
  corsAllowCredentials: boolean;
  /** Writes (POST, PUT, PATCH, DELETE) a minute per user. */
  quotaWritesPerMinute: number;
  /** Deploy and rollback requests a minute per environment. */
  quotaDeploysPerMinute: number;
}

/** Setting → the environment variable that stands in for it (the functions read the quota ones themselves). */
export const API_SETTING_ENV: Readonly<Record<keyof ApiSettings, string>> = {
  throttleRateLimit: 'SLIPWAY_THROTTLE_RATE_LIMIT',
  throttleBurstLimit: 'SLIPWAY_THROTTLE_BURST_LIMIT',
  corsOrigins: 'SLIPWAY_CORS_ORIGINS',
  corsAllowCredentials: 'SLIPWAY_CORS_ALLOW_CREDENTIALS',
  quotaWritesPerMinute: 'SLIPWAY_QUOTA_WRITES_PER_MINUTE',
  quotaDeploysPerMinute: 'SLIPWAY_QUOTA_DEPLOYS_PER_MINUTE',
};

export const DEFAULT_THROTTLE = { rateLimit: 50, burstLimit: 100 };

/** What a browser on an allowed origin may send and read (HttpApi corsPreflight and the local gateway). */
export const CORS = {
  allowMethods: [...new Set(routes.map((route) => route.method))],
  allowHeaders: ['authorization', 'content-type', 'if-match', 'idempotency-key'],
  exposeHeaders: ['etag', 'location', 'retry-after', 'ratelimit', 'ratelimit-policy', 'idempotent-replayed'],
  maxAgeSeconds: 3600,
} as const;

/** `raw(key)` answers a setting as text, or undefined when it is not set. */
export function readApiSettings(raw: (key: keyof ApiSettings) => string | undefined): ApiSettings {
  const int = (key: keyof ApiSettings, fallback: number) => parsePositiveInteger(key, raw(key) ?? String(fallback));
  const corsOrigins = origins(raw('corsOrigins'));
  const corsAllowCredentials = parseBoolean('corsAllowCredentials', raw('corsAllowCredentials') ?? 'false');
  // Browsers refuse credentials with `*`, and API Gateway refuses the configuration outright.
  if (corsAllowCredentials && corsOrigins.includes('*')) {
    throw new Error('corsAllowCredentials cannot be true while corsOrigins allows every origin (*): name the origins');
  }
  return {
    throttleRateLimit: int('throttleRateLimit', DEFAULT_THROTTLE.rateLimit),
    throttleBurstLimit: int('throttleBurstLimit', DEFAULT_THROTTLE.burstLimit),
    corsOrigins,
    corsAllowCredentials,
    quotaWritesPerMinute: int('quotaWritesPerMinute', DEFAULT_WRITES_PER_MINUTE),
    quotaDeploysPerMinute: int('quotaDeploysPerMinute', DEFAULT_DEPLOYS_PER_MINUTE),
  };
}

/** The settings from the environment alone (the local cloud). */
export const apiSettingsFromEnv = (env: NodeJS.ProcessEnv = process.env): ApiSettings =>
  readApiSettings((key) => env[API_SETTING_ENV[key]] || undefined);

export function parsePositiveInteger(key: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`Context ${key} must be a positive integer`);
  return value;
}

export function parseBoolean(key: string, text: string): boolean {
  if (text !== 'true' && text !== 'false') throw new Error(`Context ${key} must be true or false, got "${text}"`);
  return text === 'true';
}

/** A comma list of origins as browsers send them (scheme, host, optional port; no path), or `*`. */
function origins(text: string | undefined): string[] {
  const list = (text ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of list) {
    // A path or a trailing slash never equals a browser's Origin header: the origin would never match.
    if (origin !== '*' && !/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/.test(origin)) {
      throw new Error(`corsOrigins: "${origin}" is not an origin such as https://console.example.com (or *)`);
    }
  }
  return list;
}
