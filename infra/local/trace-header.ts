/**
 * X-Ray trace headers (`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`)
 * as the local cloud hands them on: the gateway to a function, a workflow to its tasks (ADR 28).
 */
import { randomBytes } from 'node:crypto';

const TRACE_ROOT = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;

/**
 * The trace header a call runs under: the caller's Root (and Sampled) with a new Parent, or a new
 * trace when the caller gave none or an unreadable one (X-Ray's format: `1-<epoch hex>-<96 random bits>`).
 */
export function continueTrace(received: string | undefined): string {
  const fields = new Map((received ?? '').split(';').map((field) => field.trim().split('=') as [string, string]));
  const root = fields.get('Root');
  const parent = randomBytes(8).toString('hex');
  if (root !== undefined && TRACE_ROOT.test(root)) {
    return `Root=${root};Parent=${parent};Sampled=${fields.get('Sampled') === '0' ? '0' : '1'}`;
  }
  const epoch = Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, '0');
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${parent};Sampled=1`;
}

/** `1-5759e988-bd862e3fe1be46a994272793` of `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=...`. */
export const traceRoot = (header: string): string | undefined => /(?:^|;)\s*Root=([^;]+)/.exec(header)?.[1];
