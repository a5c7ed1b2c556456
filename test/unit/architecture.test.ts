import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { functions } from '../../infra/manifest.ts';

/**
 * The layers of docs/architecture.md, checked on the import graph: HTTP stays at the edge, the
 * domain stays pure, handlers leave the SDKs to adapters. Read from the sources, so a new file
 * is checked the day it is written. (Cycles between modules: test/unit/repository.test.ts.)
 */
const root = resolve(import.meta.dirname, '../..');

function sources(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(folder, file));
}

/** Every module a file imports (static, re-export or dynamic), relative ones resolved to repository paths. */
function importsOf(file: string, text = readFileSync(join(root, file), 'utf8')): string[] {
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1] as string);
  return specifiers.map((spec) => (spec.startsWith('.') ? relative(root, resolve(root, dirname(file), spec)) : spec));
}

const graph = [...sources('shared'), ...sources('functions')].map((file) => ({ file, imports: importsOf(file) }));
const offenders = (from: (file: string) => boolean, to: (target: string) => boolean): string[] =>
  graph.flatMap(({ file, imports }) => (from(file) ? imports.filter(to).map((target) => `${file} → ${target}`) : []));

const isSdk = (target: string) => /^@(aws-sdk|smithy|kubernetes)\//.test(target);

describe('the import graph', () => {
  it('reads every module (the check is not vacuous)', () => {
    expect(graph.length).toBeGreaterThan(50);
    expect(graph.some(({ imports }) => imports.some((t) => t.startsWith('shared/http/')))).toBe(true);
  });

  it('keeps HTTP at the edge: only shared/http and the functions import shared/http', () => {
    expect(
      offenders(
        (file) => file.startsWith('shared/') && !file.startsWith('shared/http/'),
        (target) => target.startsWith('shared/http/'),
      ),
    ).toEqual([]);
  });

  it('keeps the domain pure: shared/domain imports neither the store nor an SDK', () => {
    expect(
      offenders(
        (file) => file.startsWith('shared/domain/'),
        (target) => target.startsWith('shared/store/') || isSdk(target),
      ),
    ).toEqual([]);
  });

  it('leaves the SDKs to adapters: no handler imports one', () => {
    expect(offenders((file) => file.startsWith('functions/'), isSdk)).toEqual([]);
  });

  it('keeps the bottom layers at the bottom: the store and the domain import nothing above them', () => {
    const inShared = (target: string) => target.startsWith('shared/');
    expect(
      offenders(
        (file) => file.startsWith('shared/store/'),
        (t) => inShared(t) && !/^shared\/(store\/|errors\.ts|config\.ts)/.test(t),
      ),
    ).toEqual([]);
    // The domain's vocabulary includes roles and scopes (a binding names them) and the address rules a
    // cluster URL must follow (shared/net), nothing that reads or writes the platform's state.
    expect(
      offenders(
        (file) => file.startsWith('shared/domain/'),
        (t) =>
          inShared(t) && !/^shared\/(domain\/|net\/|errors\.ts|config\.ts|auth\/roles\.ts|auth\/scope\.ts)/.test(t),
      ),
    ).toEqual([]);
  });

  it('keeps the Kubernetes client out of every API function (the builds API too): only workflow and bus functions reach it', () => {
    // What the bundler keeps: `import type` and `export type` statements are erased.
    const valueImports = (file: string) =>
      importsOf(file, readFileSync(join(root, file), 'utf8').replace(/^(import|export) type [^;]*;/gm, ''));
    const byFile = new Map(graph.map(({ file }) => [file, valueImports(file)]));
    /** Every module `entry` loads, however indirectly. */
    const reach = (entry: string) => {
      const seen = new Set<string>();
      for (const queue = [entry]; queue.length > 0; ) {
        const file = queue.pop() as string;
        if (seen.has(file)) continue;
        seen.add(file);
        queue.push(...(byFile.get(file) ?? []));
      }
      return seen;
    };
    const carriers = functions.filter((spec) => [...reach(spec.entry)].some((m) => m.startsWith('@kubernetes/')));
    expect(carriers.filter((spec) => (spec.trigger ?? 'api') === 'api').map((spec) => spec.name)).toEqual([]);
    // Not vacuous: the functions that reach clusters do reach it.
    expect(carriers.map((spec) => spec.name).sort()).toEqual(['build-watch', 'builder', 'deployer']);
  });
});
