import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLambdaRuntime } from '../../../infra/local/lambda-runtime.ts';
import { continueTrace, traceRoot } from '../../../infra/local/trace-header.ts';

const ROOT = '1-5759e988-bd862e3fe1be46a994272793';
const HEADER = /^Root=(1-[0-9a-f]{8}-[0-9a-f]{24});Parent=[0-9a-f]{16};Sampled=[01]$/;

describe('continueTrace', () => {
  it("keeps a caller's root and sampling decision under a new parent", () => {
    const header = continueTrace(`Root=${ROOT};Parent=53995c3f42cd8ad8;Sampled=0`);
    expect(header).toMatch(HEADER);
    expect(traceRoot(header)).toBe(ROOT);
    expect(header).toContain('Sampled=0');
    expect(header).not.toContain('53995c3f42cd8ad8');
  });

  it('starts a trace of its own, stamped with the current time, when none or a malformed one is given', () => {
    for (const received of [undefined, '', 'Root=not-a-trace', 'Root=1-zz;Sampled=1', `Self=${ROOT}`]) {
      const header = continueTrace(received);
      expect(header).toMatch(HEADER);
      expect(traceRoot(header)).not.toBe(ROOT);
      const seconds = Number.parseInt((traceRoot(header) as string).slice(2, 10), 16);
      expect(Math.abs(seconds - Date.now() / 1000)).toBeLessThan(5);
    }
  });
});

describe('the local lambda runtime', () => {
  const runtime = createLambdaRuntime({
    rootDir: join(import.meta.dirname, '../../..'),
    region: 'us-east-1',
    accountId: '000000000000',
    integrationTimeoutMs: 5_000,
  });
  const fn = { name: 'trace-echo', entry: 'test/unit/local/fixtures/trace-echo.ts', timeoutSeconds: 3, memoryMb: 128 };

  it('gives each of many interleaved calls its own trace id, as Powertools reads it, across awaits', async () => {
    const roots = Array.from({ length: 20 }, (_, i) => `1-5759e988-${i.toString(16).padStart(24, '0')}`);
    // Later calls finish first: every await lets the others run in between.
    const calls = await Promise.all(
      roots.map((root, i) => runtime.invoke(fn, { pauseMs: 40 - 2 * i }, { traceHeader: `Root=${root};Sampled=1` })),
    );
    calls.forEach((call, i) => {
      expect(call.outcome).toBe('result');
      const answer = (call as { result: { before: string; after: string; header: string } }).result;
      expect(answer).toMatchObject({ before: roots[i], after: roots[i] });
      // The header handed on (StartExecution) is the same trace; Parent is this call's own.
      expect(traceRoot(answer.header)).toBe(roots[i]);
      expect(answer.header).toBe(call.traceHeader);
    });
    expect(process.env._X_AMZN_TRACE_ID).toBeUndefined();
  });

  it('starts a new trace for a call given none, and none leaks outside a call', async () => {
    const [a, b] = await Promise.all([runtime.invoke(fn, { pauseMs: 5 }), runtime.invoke(fn, { pauseMs: 1 })]);
    const rootOf = (call: typeof a) => (call as { result: { after: string } }).result.after;
    expect(rootOf(a)).toMatch(/^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(rootOf(a)).not.toBe(rootOf(b));
    const { traceId } = await import('../../../shared/telemetry/trace-context.ts');
    expect(traceId()).toBeUndefined();
  });
});
