import { describe, expect, it } from 'vitest';
import { checkEnvironments, checkStages, pipelineDefinition, type Stage } from '../../../shared/domain/pipeline.ts';
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
