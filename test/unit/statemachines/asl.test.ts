import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { definitionOf } from '../../../infra/local/services.ts';
import { validateDefinition } from '../../../infra/local/stepfunctions/service.ts';
import { stateMachines } from '../../../infra/manifest.ts';

/**
 * The ASL files are the one description of the workflows on both runtimes: every one must be
 * valid States Language for an independent validator (asl-validator) and for the local
 * interpreter, and keep the rules the workflows depend on.
 */
const root = new URL('../../../', import.meta.url).pathname;
type State = Record<string, unknown> & { Type: string };

for (const machine of stateMachines) {
  const raw = readFileSync(`${root}${machine.file}`, 'utf8');
  const definition = definitionOf(
    root,
    machine,
    (fn) => `arn:aws:lambda:us-east-1:123456789012:function:slipway-${fn}`,
    (name) => `arn:aws:states:us-east-1:123456789012:stateMachine:slipway-${name}`,
  ) as {
    States: Record<string, State>;
  };
  const states = Object.entries(definition.States);

  describe(machine.file, () => {
    it('names only placeholders the manifest substitutes, and uses every one', () => {
      const used = new Set([...raw.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
      expect([...used].sort()).toEqual(
        [...Object.keys(machine.functions), ...Object.keys(machine.stateMachines ?? {})].sort(),
      );
    });

    it('is valid States Language for asl-validator and for the local interpreter', () => {
      const { isValid, errors } = aslValidator(definition);
      expect(errors).toEqual([]);
      expect(isValid).toBe(true);
      expect(() => validateDefinition(definition)).not.toThrow();
    });

    it('is JSONPath only: the local interpreter has no JSONata', () => {
      expect(raw).not.toMatch(/QueryLanguage|JSONata|\{%/);
    });

    it('gives every task a timeout (AWS has no default; a wait must not hang forever)', () => {
      for (const [name, state] of states.filter(([, s]) => s.Type === 'Task')) {
        expect(state.TimeoutSeconds ?? state.TimeoutSecondsPath, name).toBeDefined();
      }
    });

    it('catches every failure of every task, so the lock is always released', () => {
      for (const [name, state] of states.filter(([, s]) => s.Type === 'Task')) {
        const catches = (state.Catch ?? []) as { ErrorEquals: string[] }[];
        expect(
          catches.some((c) => c.ErrorEquals.includes('States.ALL')),
          `${name} has no Catch for States.ALL`,
        ).toBe(true);
      }
    });

    it('runs other machines only as nested executions it waits for, named after what they run, and declared', () => {
      const nested = states.filter(([, s]) => s.Type === 'Task' && String(s.Resource).includes(':states:::states:'));
      const declared = Object.values(machine.stateMachines ?? {}).map(
        (name) => `arn:aws:states:us-east-1:123456789012:stateMachine:slipway-${name}`,
      );
      expect(nested.length).toBe(declared.length);
      for (const [name, state] of nested) {
        // .sync:2: the parent waits, gets the child's output as JSON, fails when the child does, and stops it when stopped.
        expect(state.Resource, name).toBe('arn:aws:states:::states:startExecution.sync:2');
        const parameters = state.Parameters as Record<string, unknown>;
        expect(declared, name).toContain(parameters.StateMachineArn);
        // Named after the build or deployment: a retried start is the same execution, never a second one.
        expect(parameters['Name.$'], name).toMatch(/^\$\./);
      }
    });

    it('retries cluster faults with backoff, but never a refused request', () => {
      for (const [name, state] of states.filter(([, s]) => s.Type === 'Task')) {
        for (const retry of (state.Retry ?? []) as { ErrorEquals: string[]; BackoffRate?: number }[]) {
          expect(retry.ErrorEquals, name).not.toContain('ClusterRejected');
          if (retry.ErrorEquals.includes('ClusterUnreachable')) expect(retry.BackoffRate, name).toBeGreaterThan(1);
        }
      }
    });
  });
}

/**
 * The build machine's contract with whoever nests it (a pipeline run): input `{build_id}`, output
 * `{build_id, image, digest}` (the success step's result), and a failure only as `BuildFailed`, after
 * the failure is recorded.
 */
describe('statemachines/build.asl.json as a nested execution', () => {
  const build = stateMachines.find((machine) => machine.name === 'build');
  const { States } = JSON.parse(readFileSync(`${root}${build?.file}`, 'utf8')) as { States: Record<string, State> };
  const entries = Object.entries(States);

  it('outputs only what its success step answers, and ends there', () => {
    const ends = entries.filter(([, s]) => s.End === true || s.Type === 'Succeed');
    expect(ends.map(([name]) => name)).toEqual(['RecordSuccess']);
    expect(States.RecordSuccess).toMatchObject({ ResultPath: '$.result', OutputPath: '$.result' });
    expect(States.RecordSuccess?.Parameters).toMatchObject({ action: 'succeeded' });
  });

  it('fails only with BuildFailed, and only after the step that records the failure (or its own failure)', () => {
    const fails = entries.filter(([, s]) => s.Type === 'Fail');
    for (const [, state] of fails) expect(state.Error).toBe('BuildFailed');
    const failNames = new Set(fails.map(([name]) => name));
    const into = (s: State) => [s.Next, ...((s.Catch ?? []) as { Next: string }[]).map((c) => c.Next)];
    const reachers = entries.filter(([, s]) => into(s).some((next) => failNames.has(String(next))));
    expect(reachers.map(([name]) => name)).toEqual(['RecordFailure']);
  });
});
