import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layers of docs/architecture.md, checked on the import graph: HTTP stays at the edge, the
 * domain stays pure, handlers leave the SDKs to adapters. Read from the sources, so a new file
 * is checked the day it is written.
 */
const root = resolve(import.meta.dirname, '../..');

function sources(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(folder, file));
}

/** Every module a file imports (static, re-export or dynamic), relative ones resolved to repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
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

  it('has no cycle between the folders of shared/ (http ↔ store, auth ↔ store, …)', () => {
    const folderOf = (path: string) => path.split('/').slice(0, 2).join('/');
    const edges = new Set(
      graph
        .filter(({ file }) => file.startsWith('shared/'))
        .flatMap(({ file, imports }) =>
          imports
            .filter((t) => t.startsWith('shared/') && folderOf(t) !== folderOf(file))
            .map((t) => `${folderOf(file)} → ${folderOf(t)}`),
        ),
    );
    const cycles = [...edges].filter((edge) => edges.has(edge.split(' → ').reverse().join(' → ')));
    expect(cycles).toEqual([]);
  });

  it('has no import cycle between modules, type-only imports included', () => {
    const local = new Map(
      [...graph, ...sources('infra').map((file) => ({ file, imports: importsOf(file) }))].map(({ file, imports }) => [
        file,
        imports.filter((t) => t.endsWith('.ts')),
      ]),
    );
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const next of local.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of local.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
