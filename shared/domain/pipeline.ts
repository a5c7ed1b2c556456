import * as z from 'zod/mini';
import { invalid, unprocessable } from '../errors.ts';
import { deployRequest } from './deployment.ts';
import { description, dnsLabel, resourceId } from './fields.ts';
import { passesFilters } from './glob.ts';

/**
 * A pipeline: how a commit of an application becomes a built image and then deployments. One
 * `build` stage produces `<image_repository>:<sha>` and its digest; `deploy` stages send that
 * digest (never a mutable tag) to environments of the same app, after the stages they `need`.
 * Trigger rules say which pushes start it (used by the Git webhooks); the concurrency policy says
 * what a new run does to an older one on the same ref.
 */

/** A glob over branch, tag or file names, GitHub Actions style (`*`, `**`, `?`, `!` to exclude). */
export const glob = z.string().check(
  z.minLength(1),
  z.maxLength(255),
  z.refine((value) => [...value].every((c) => c >= ' ' && c !== '\u007f'), 'must not contain control characters'),
);
const globs = z.array(glob).check(z.maxLength(50));

/** Build arguments become `--build-arg NAME=value`: names as a shell and Docker accept them. */
export const buildArgs = z
  .record(
    z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be a build argument name')),
    z.string().check(z.maxLength(1024)),
  )
  .check(z.refine((value) => Object.keys(value).length <= 50, 'at most 50 build arguments'));

/** A path inside the repository: relative, no `..`, no absolute or home paths. */
export const repoPath = z.string().check(
  z.minLength(1),
  z.maxLength(255),
  z.refine(
    (value) => !value.startsWith('/') && !value.startsWith('~') && !value.split('/').includes('..'),
    'must be a path inside the repository',
  ),
);

export const buildStage = z.strictObject({
  name: dnsLabel,
  type: z.literal('build'),
  /** The build context, relative to the repository root. */
  context: z._default(repoPath, '.'),
  dockerfile: z._default(repoPath, 'Dockerfile'),
  build_args: z._default(buildArgs, {}),
  /** A stage of a multi-stage Dockerfile to stop at. */
  target: z.optional(
    z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'must be a Dockerfile stage name')),
  ),
  cache: z._default(z.boolean(), true),
  needs: z._default(z.array(dnsLabel).check(z.maxLength(20)), []),
});

export const deployStage = z.strictObject({
  name: dnsLabel,
  type: z.literal('deploy'),
  /** An environment of the pipeline's application. */
  env: dnsLabel,
  needs: z._default(z.array(dnsLabel).check(z.maxLength(20)), []),
  /** As a deploy request's: default, the environment's current release's. */
  replicas: deployRequest.shape.replicas,
});

export const stage = z.discriminatedUnion('type', [buildStage, deployStage]);

export const triggers = z.strictObject({
  branches: z._default(globs, []),
  tags: z._default(globs, []),
  /** Only pushes touching these paths (a `!` glob excludes); empty: any path. */
  paths: z._default(globs, []),
  /** Pull and merge requests start runs that build and never deploy. */
  pull_requests: z._default(z.boolean(), false),
});

export const concurrency = z.strictObject({
  /** `queue`: a new run on a ref waits for the older one; `cancel_in_progress`: it cancels it. */
  policy: z._default(z.enum(['queue', 'cancel_in_progress']), 'queue'),
});

export const pipelineDefinition = z.strictObject({
  description: z.optional(description),
  stages: z.array(stage).check(z.minLength(1), z.maxLength(20)),
  triggers: z._default(triggers, { branches: [], tags: [], paths: [], pull_requests: false }),
  concurrency: z._default(concurrency, { policy: 'queue' }),
});

export const newPipeline = z.strictObject({
  app_id: resourceId('app'),
  name: dnsLabel,
  ...pipelineDefinition.shape,
});

/** What `PUT`/`PATCH` change: the whole definition (the app and the name are fixed). */
export const pipelineChanges = z.strictObject({ ...pipelineDefinition.shape });

export type Stage = z.infer<typeof stage>;
export type BuildStage = z.infer<typeof buildStage>;
export type DeployStage = z.infer<typeof deployStage>;
export type PipelineDefinition = z.infer<typeof pipelineDefinition>;
export type NewPipeline = z.infer<typeof newPipeline>;
export type Triggers = z.infer<typeof triggers>;

/** A pipeline as the API shows it: its definition at `version`, the number every change raises. */
export type PipelineView = NewPipeline & {
  id: string;
  project_id: string;
  version: number;
  created_at: string;
  updated_at: string;
  created_by: string;
};

/**
 * The rules a schema cannot say: stage names are unique, `needs` names stages that exist and
 * form no cycle, there is exactly one build, and every deploy waits for it (its digest is what
 * it deploys). Environments are checked by the use case, which knows the app's.
 * Answers the stages in an order that runs every stage after what it needs.
 */
export function checkStages(stages: readonly Stage[]): Stage[] {
  const byName = new Map<string, Stage>();
  for (const [i, s] of stages.entries()) {
    if (byName.has(s.name)) throw invalidStage(i, 'name', `stage name ${s.name} is used twice`);
    byName.set(s.name, s);
  }
  for (const [i, s] of stages.entries()) {
    for (const need of s.needs) {
      if (!byName.has(need)) throw invalidStage(i, 'needs', `needs ${need}, which is not a stage`);
      if (need === s.name) throw invalidStage(i, 'needs', 'a stage cannot need itself');
    }
  }
  const builds = stages.filter((s) => s.type === 'build');
  if (builds.length !== 1) {
    throw invalid('A pipeline has exactly one build stage.', [
      { name: 'stages', reason: `found ${builds.length} build stages` },
    ]);
  }
  const order = topologicalOrder(stages, byName);
  const build = builds[0] as Stage;
  for (const [i, s] of stages.entries()) {
    if (s.type === 'deploy' && !dependsOn(s, build.name, byName)) {
      throw invalidStage(
        i,
        'needs',
        `deploys the build's image, so it must need ${build.name} (directly or through other stages)`,
      );
    }
  }
  return order;
}

/** Kahn's algorithm: a stage left over sits on a cycle. */
function topologicalOrder(stages: readonly Stage[], byName: ReadonlyMap<string, Stage>): Stage[] {
  const waiting = new Map(stages.map((s) => [s.name, new Set(s.needs)]));
  const order: Stage[] = [];
  while (waiting.size > 0) {
    const ready = [...waiting].filter(([, needs]) => needs.size === 0).map(([name]) => name);
    if (ready.length === 0) {
      throw invalid('The stages need each other in a cycle.', [
        { name: 'stages', reason: `cycle among ${[...waiting.keys()].sort().join(', ')}` },
      ]);
    }
    for (const name of ready) {
      waiting.delete(name);
      order.push(byName.get(name) as Stage);
      for (const needs of waiting.values()) needs.delete(name);
    }
  }
  return order;
}

function dependsOn(s: Stage, target: string, byName: ReadonlyMap<string, Stage>, seen = new Set<string>()): boolean {
  for (const need of s.needs) {
    if (need === target) return true;
    if (seen.has(need)) continue;
    seen.add(need);
    if (dependsOn(byName.get(need) as Stage, target, byName, seen)) return true;
  }
  return false;
}

const invalidStage = (index: number, field: string, reason: string) =>
  invalid('The stages do not fit together.', [{ name: `stages.${index}.${field}`, reason }]);

/** A deploy stage must name an environment the application has. */
export function checkEnvironments(stages: readonly Stage[], envs: ReadonlySet<string>): void {
  for (const [i, s] of stages.entries()) {
    if (s.type === 'deploy' && !envs.has(s.env)) {
      throw unprocessable(
        'unknown-environment',
        `Stage ${s.name} deploys to ${s.env}, which this application does not have (stages.${i}.env).`,
      );
    }
  }
}

/** A push as the Git webhook reports it: the full ref and the files its commits touched. */
export interface Push {
  /** `refs/heads/<branch>` or `refs/tags/<tag>`. */
  ref: string;
  /** Every path added, modified or removed; unknown (undefined) lets path filters pass. */
  paths?: readonly string[];
}

/**
 * Whether a push starts this pipeline, as GitHub Actions reads `on.push`: a branch push needs a
 * matching `branches` glob (or no branch or tag filter at all), a tag push a matching `tags` glob
 * (likewise), and with `paths` at least one touched path must pass them (tag pushes ignore paths).
 */
export function matchesPush(rules: Triggers, push: Push): boolean {
  const unfiltered = rules.branches.length === 0 && rules.tags.length === 0;
  const [, kind, name] = /^refs\/(heads|tags)\/(.+)$/.exec(push.ref) ?? [];
  if (!name) return false;
  if (kind === 'tags') return unfiltered || (rules.tags.length > 0 && passesFilters(rules.tags, name));
  if (!unfiltered && !(rules.branches.length > 0 && passesFilters(rules.branches, name))) return false;
  if (rules.paths.length === 0 || push.paths === undefined) return true;
  return push.paths.some((path) => passesFilters(rules.paths, path));
}
