import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The shape of the repository itself: modules that do not import each other, documents that stay inside it. */
const root = resolve(import.meta.dirname, '../..');
const skipped = new Set(['node_modules', '.git', '.data', 'cdk.out', '.bench', '.vitest', 'coverage']);

function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    if (skipped.has(entry.name)) return [];
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** Relative imports of each module, `import type` and re-exports included. */
function importGraph(dirs: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of dirs.flatMap(filesUnder).filter((f) => f.endsWith('.ts'))) {
    const targets = [...read(file).matchAll(/^(?:import|export)\b[^;]*?from '(\.{1,2}\/[^']+)'/gms)].map((m) =>
      relative(root, resolve(root, dirname(file), m[1] as string)),
    );
    graph.set(file, targets);
  }
  return graph;
}

function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (node: string, path: string[]) => {
    state.set(node, 'open');
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next, [...path, next]);
    }
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node, [node]);
  return found;
}

describe('the repository', () => {
  it('has no import cycles among its modules, not even through type-only imports', () => {
    expect(cycles(importGraph(['shared', 'functions', 'infra'])).map((cycle) => cycle.join(' → '))).toEqual([]);
  });

  it('finds a cycle when there is one (the check itself)', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('keeps its documents and comments inside itself: no pointer to notes kept outside it', () => {
    const texts = ['', 'docs', 'infra', 'shared', 'functions', 'statemachines', 'test']
      .flatMap((dir) => (dir ? filesUnder(dir) : readdirSync(root).filter((f) => f.endsWith('.md'))))
      .filter((file) => /\.(md|ts)$/.test(file) && file !== 'test/unit/repository.test.ts');
    const outside = texts.filter((file) =>
      /\b(?:NOTES|STYLE|DESIGN)\.md\b|\/work\/|\.\.\/shared\/\w+\.md/.test(read(file)),
    );
    expect(outside).toEqual([]);

    const broken = texts
      .filter((file) => file.endsWith('.md'))
      .flatMap((file) =>
        [...read(file).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
          .map((m) => m[1] as string)
          .filter((target) => !/^[a-z]+:/.test(target))
          .map((target) => ({ file, target, path: resolve(root, dirname(file), target) }))
          .filter(({ path }) => !path.startsWith(`${root}/`) || !existsSync(path))
          .map(({ file, target }) => `${file} → ${target}`),
      );
    expect(broken).toEqual([]);
  });
});
