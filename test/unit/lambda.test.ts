import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lambda } from '../../shared/lambda.ts';
import { logger } from '../../shared/logger.ts';

const repoRoot = join(import.meta.dirname, '../..');
const source = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

const context = (awsRequestId: string) =>
  ({
    awsRequestId,
    functionName: 'slipway-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:slipway-test',
    memoryLimitInMB: '256',
    getRemainingTimeInMillis: () => 10_000,
  }) as unknown as Context;

/** The JSON log lines the logger writes while `work` runs. */
async function logLines(work: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const written: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return written
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

afterEach(() => vi.restoreAllMocks());

describe('the one Lambda wrapper', () => {
  it('hands the event and context to the function and answers its result', async () => {
    const handler = lambda(async (event: { n: number }, ctx: Context) => ({
      twice: event.n * 2,
      id: ctx.awsRequestId,
    }));
    expect(await handler({ n: 21 }, context('req-1'))).toEqual({ twice: 42, id: 'req-1' });
  });

  it('lets a thrown error through with its name, which the state machine matches', async () => {
    const handler = lambda(async () => {
      throw Object.assign(new Error('cluster down'), { name: 'ClusterUnreachable' });
    });
    await expect(handler({}, context('req-2'))).rejects.toMatchObject({ name: 'ClusterUnreachable' });
  });

  it('stamps every log line with the invocation, and forgets keys added during the previous one', async () => {
    const handler = lambda(async (event: { tag?: string }) => {
      if (event.tag) logger.appendKeys({ tag: event.tag });
      logger.info('working');
      return {};
    });
    const lines = await logLines(async () => {
      await handler({ tag: 'first' }, context('req-a'));
      await handler({}, context('req-b'));
    });
    const working = lines.filter((line) => line.message === 'working');
    expect(working).toHaveLength(2);
    expect(working[0]).toMatchObject({ function_request_id: 'req-a', function_name: 'slipway-test', tag: 'first' });
    expect(working[1]).toMatchObject({ function_request_id: 'req-b' });
    expect(working[1]).not.toHaveProperty('tag');
  });

  it('is the only place that applies middy: every function handler goes through it', () => {
    const importers = (dir: string): string[] =>
      readdirSync(join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts'))
        .map((file) => join(dir, file))
        .filter((file) => /from '@middy\/|from '@aws-lambda-powertools\/logger\/middleware'/.test(source(file)));
    expect([...importers('shared'), ...importers('functions')]).toEqual(['shared/lambda.ts']);

    // A handler is built by the wrapper itself or by a kernel that uses it (API routes, workflow steps).
    const wrappers = ['shared/lambda.ts', 'shared/http/api.ts', 'shared/http/kernel.ts', 'shared/delivery/step.ts'];
    for (const kernel of ['shared/http/kernel.ts', 'shared/delivery/step.ts']) {
      expect(source(kernel)).toMatch(/return lambda\(/);
    }
    for (const name of readdirSync(join(repoRoot, 'functions'))) {
      const handler = source(`functions/${name}/handler.ts`);
      // A kernel may take its input type (`workflowStep<BuildStepInput>(`).
      const built = /export const handler = (lambda|api|publicApi|workflowStep)(<\w+>)?\(/.exec(handler);
      expect(built, `functions/${name}/handler.ts exports a handler built by the one wrapper`).not.toBeNull();
      expect(wrappers.some((module) => handler.includes(`../../${module}'`))).toBe(true);
    }
  });
});
