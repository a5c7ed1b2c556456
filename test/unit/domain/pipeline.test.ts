import { describe, expect, it } from 'vitest';
import {
  checkEnvironments,
  checkStages,
  matchesPush,
  pipelineDefinition,
  type Stage,
  type Triggers,
} from '../../../shared/domain/pipeline.ts';
import { fullRef, runRequest } from '../../../shared/domain/run.ts';
import { validate } from '../../../shared/domain/validate.ts';
import { problemOf } from '../problem-of.ts';

const build: Stage = {
  name: 'build',
  type: 'build',
  context: '.',
  dockerfile: 'Dockerfile',
  build_args: {},
  cache: true,
  needs: [],
};
const deploy = (name: string, env: string, needs: string[]): Stage => ({ name, type: 'deploy', env, needs });

describe('a pipeline definition', () => {
  it('fills the defaults of a minimal definition', () => {
    const definition = validate(pipelineDefinition, {
      stages: [
        { name: 'build', type: 'build' },
        { name: 'dev', type: 'deploy', env: 'dev', needs: ['build'] },
      ],
    });
    expect(definition.stages[0]).toEqual(build);
    expect(definition.triggers).toEqual({ branches: [], tags: [], paths: [], pull_requests: false });
    expect(definition.concurrency).toEqual({ policy: 'queue' });
  });

  it.each([
    ['an unknown stage key', { stages: [{ name: 'build', type: 'build', privileged: true }] }, 'privileged'],
    ['an unknown stage type', { stages: [{ name: 'test', type: 'test' }] }, 'stages.0'],
    ['a context outside the repository', { stages: [{ name: 'b', type: 'build', context: '../..' }] }, 'context'],
    [
      'an odd build argument name',
      { stages: [{ name: 'b', type: 'build', build_args: { 'A B': '1' } }] },
      'build_args',
    ],
    ['no stages', { stages: [] }, 'stages'],
  ])('refuses %s with 400 naming the field', (_case, body, field) => {
    const problem = problemOf(() => validate(pipelineDefinition, body));
    expect(problem?.status).toBe(400);
    expect(JSON.stringify(problem?.extensions.invalid_params)).toContain(field);
  });
});

describe('stages fit together', () => {
  it('orders stages after what they need', () => {
    const order = checkStages([deploy('prod', 'prod', ['staging']), deploy('staging', 'staging', ['build']), build]);
    expect(order.map((s) => s.name)).toEqual(['build', 'staging', 'prod']);
  });

  it.each([
    ['a needs naming no stage', [build, deploy('dev', 'dev', ['biuld'])], 'biuld'],
    ['a cycle', [build, deploy('a', 'a', ['build', 'b']), deploy('b', 'b', ['a'])], 'cycle'],
    ['a stage needing itself', [build, deploy('a', 'a', ['a'])], 'itself'],
    ['two stages of one name', [build, deploy('dev', 'dev', ['build']), deploy('dev', 'dev', ['build'])], 'twice'],
    ['no build', [deploy('dev', 'dev', [])], 'build stages'],
    ['two builds', [build, { ...build, name: 'build2' }], 'build stages'],
    ['a deploy that does not wait for the build', [build, deploy('dev', 'dev', [])], 'must need build'],
  ])('refuses %s with 400', (_case, stages, reason) => {
    const problem = problemOf(() => checkStages(stages as Stage[]));
    expect(problem?.status).toBe(400);
    expect(JSON.stringify(problem?.extensions.invalid_params)).toContain(reason);
  });

  it('refuses a deploy to an environment the app does not have with 422', () => {
    const problem = problemOf(() => checkEnvironments([build, deploy('qa', 'qa', ['build'])], new Set(['dev'])));
    expect(problem?.status).toBe(422);
    expect(problem?.type).toMatch(/unknown-environment$/);
  });
});

describe('which pushes start a pipeline (matchesPush)', () => {
  const rules = (r: Partial<Triggers>): Triggers => ({ branches: [], tags: [], paths: [], pull_requests: false, ...r });

  it.each([
    ['any branch without filters', rules({}), 'refs/heads/feature/x', undefined, true],
    ['any tag without filters', rules({}), 'refs/tags/v1.0.0', undefined, true],
    [
      'a branch matching a glob',
      rules({ branches: ['main', 'release/**'] }),
      'refs/heads/release/2026/11',
      undefined,
      true,
    ],
    ['a branch matching none', rules({ branches: ['main'] }), 'refs/heads/feature', undefined, false],
    ['a branch excluded after matching', rules({ branches: ['**', '!wip/*'] }), 'refs/heads/wip/x', undefined, false],
    ['a tag when only branches are filtered', rules({ branches: ['main'] }), 'refs/tags/v1', undefined, false],
    ['a branch when only tags are filtered', rules({ tags: ['v*'] }), 'refs/heads/main', undefined, false],
    ['a tag matching its glob', rules({ tags: ['v[0-9]*'] }), 'refs/tags/v2.1', undefined, true],
    [
      'a push touching a filtered path',
      rules({ paths: ['src/**'] }),
      'refs/heads/main',
      ['README.md', 'src/a/b.ts'],
      true,
    ],
    ['a push touching only other paths', rules({ paths: ['src/**'] }), 'refs/heads/main', ['docs/x.md'], false],
    ['a push touching only excluded paths', rules({ paths: ['!docs/**'] }), 'refs/heads/main', ['docs/x.md'], false],
    ['a tag push, whatever its paths', rules({ paths: ['src/**'] }), 'refs/tags/v1', ['docs/x.md'], true],
    ['a ref that is neither branch nor tag', rules({}), 'refs/pull/1/head', undefined, false],
  ])('%s', (_case, triggers, ref, paths, expected) => {
    expect(matchesPush(triggers, { ref, ...(paths ? { paths } : {}) })).toBe(expected);
  });
});

describe('a run request', () => {
  const sha = '0123456789abcdef0123456789abcdef01234567';

  it('names a commit by its full SHA and a ref; a branch name stands for its full ref', () => {
    expect(validate(runRequest, { commit: { sha, ref: 'main', message: 'Fix', author: 'Alice' } }).commit.sha).toBe(
      sha,
    );
    expect(fullRef('main')).toBe('refs/heads/main');
    expect(fullRef('refs/tags/v1.0.0')).toBe('refs/tags/v1.0.0');
  });

  it.each([
    ['an abbreviated SHA', { sha: sha.slice(0, 12), ref: 'main' }, 'commit.sha'],
    ['an upper-case SHA', { sha: sha.toUpperCase(), ref: 'main' }, 'commit.sha'],
    ['a ref with ..', { sha, ref: 'refs/heads/a..b' }, 'commit.ref'],
    ['a ref with a space', { sha, ref: 'my branch' }, 'commit.ref'],
    ['an unknown commit field', { sha, ref: 'main', tree: 'x' }, 'tree'],
  ])('refuses %s with 400 naming the field', (_case, commit, field) => {
    const problem = problemOf(() => validate(runRequest, { commit }));
    expect(problem?.status).toBe(400);
    expect(JSON.stringify(problem?.extensions.invalid_params)).toContain(field);
  });
});
