/**
 * What the local runner needs from an ASL definition, and the copy of it that
 * aws-local-stepfunctions runs. The library calls one local handler per Task state name (AWS
 * requires state names to be unique across the whole machine, nested ones included), so every
 * Task is rewritten, invisibly to the ASL author:
 *
 * - `Parameters` becomes `{ "input.$": "$", "parameters": <original> }`: the handler then sees
 *   the state's input (for TimeoutSecondsPath / HeartbeatSecondsPath) next to its parameters.
 * - `TimeoutSeconds` becomes the effective timeout (test override, path or literal), or none:
 *   the library defaults to 60 s where AWS has no default. The library keeps enforcing it, so
 *   `States.TaskFailed` still does not match `States.Timeout`, as on AWS.
 * - `States.Timeout` in Retry/Catch also matches `States.HeartbeatTimeout`: the States Language
 *   counts a missed heartbeat as a timeout too.
 */
import { StateMachine } from 'aws-local-stepfunctions';

/** An ASL state or machine, loosely typed: definitions come from JSON. */
export type AslObject = Record<string, unknown>;

/** A Task state as the runner needs it. */
export interface TaskSpec {
  name: string;
  resource: string;
  timeoutSeconds?: number;
  timeoutSecondsPath?: string;
  heartbeatSeconds?: number;
  heartbeatSecondsPath?: string;
}

/** What the rewritten Parameters hand to the local handler. */
export interface TaskHandlerInput {
  input: unknown;
  parameters?: unknown;
}

/** "No timeout", and the cap of any timeout: a Node timer set beyond ~24.8 days fires at once. */
export const NO_TIMEOUT_SECONDS = 2_000_000;

export function taskSpecs(definition: AslObject): Map<string, TaskSpec> {
  const specs = new Map<string, TaskSpec>();
  forEachState(definition, (name, state) => {
    if (state.Type !== 'Task') return;
    specs.set(name, {
      name,
      resource: String(state.Resource),
      timeoutSeconds: state.TimeoutSeconds as number | undefined,
      timeoutSecondsPath: state.TimeoutSecondsPath as string | undefined,
      heartbeatSeconds: state.HeartbeatSeconds as number | undefined,
      heartbeatSecondsPath: state.HeartbeatSecondsPath as string | undefined,
    });
  });
  return specs;
}

/** The definition aws-local-stepfunctions runs (see the module comment); the original is untouched. */
export function definitionForRun(definition: AslObject, timeoutOverrides: Record<string, number> = {}): AslObject {
  const copy = structuredClone(definition);
  if (typeof copy.TimeoutSeconds === 'number') copy.TimeoutSeconds = Math.min(copy.TimeoutSeconds, NO_TIMEOUT_SECONDS);
  forEachState(copy, (name, state) => {
    if (state.Type !== 'Task') return;
    state.Parameters = { 'input.$': '$', ...('Parameters' in state ? { parameters: state.Parameters } : {}) };
    const override = timeoutOverrides[name];
    if (override !== undefined) {
      state.TimeoutSeconds = override;
      delete state.TimeoutSecondsPath;
    } else if (typeof state.TimeoutSecondsPath === 'string') {
      state.TimeoutSecondsPath = `$.input${state.TimeoutSecondsPath.slice(1)}`;
    } else {
      state.TimeoutSeconds = Math.min(Number(state.TimeoutSeconds ?? NO_TIMEOUT_SECONDS), NO_TIMEOUT_SECONDS);
    }
    for (const rule of [...((state.Retry ?? []) as AslObject[]), ...((state.Catch ?? []) as AslObject[])]) {
      const errors = rule.ErrorEquals as string[];
      if (errors.includes('States.Timeout')) errors.push('States.HeartbeatTimeout');
    }
  });
  return copy;
}

/**
 * The library's ASL validation (asl-validator): throws listing what AWS would refuse. Not run on
 * every start: it builds its JSON-schema compiler on each call (~350 ms a definition here), so
 * a test validates each ASL file once instead.
 */
export function validateDefinition(definition: object): void {
  // A copy: the validator writes QueryLanguage into every state it checks.
  new StateMachine(structuredClone(definition) as never);
}

/** The seconds a `...Seconds` / `...SecondsPath` pair gives for this input, if any. */
export function secondsFor(seconds: number | undefined, path: string | undefined, input: unknown): number | undefined {
  if (seconds !== undefined) return seconds;
  if (path === undefined) return undefined;
  const value = readReferencePath(path, input);
  return typeof value === 'number' && value > 0 ? value : undefined;
}

const PATH_STEP = /\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]/g;

/** A Reference Path (`$.a.b[0]`, `$['a']`), the only kind timeouts and heartbeats accept. */
export function readReferencePath(path: string, value: unknown): unknown {
  let current = value;
  for (const [, dotted, index, quoted] of path.slice(1).matchAll(PATH_STEP)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[dotted ?? quoted ?? String(index)];
  }
  return current;
}

function forEachState(machine: AslObject, visit: (name: string, state: AslObject) => void): void {
  for (const [name, state] of Object.entries((machine.States ?? {}) as Record<string, AslObject>)) {
    visit(name, state);
    for (const branch of (state.Branches ?? []) as AslObject[]) forEachState(branch, visit);
    const iteration = (state.ItemProcessor ?? state.Iterator) as AslObject | undefined;
    if (iteration) forEachState(iteration, visit);
  }
}
